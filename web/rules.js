// The server's field rules (SPEC §2), checked as the user types. The server
// checks again; these only give earlier feedback.
const USER_ID = /^[\p{L}\p{N}._\-@+]{1,64}$/u;
const CONTROL = /[\p{Cc}]/u;

export function checkField(name, raw) {
  const value = raw ?? "";
  switch (name) {
    case "user_id":
      if (!value) return "required";
      if (!USER_ID.test(value) || /^\.+$/.test(value)) return "ruleUserId";
      return null;
    case "user_name": {
      const v = value.trim();
      if (!v) return "required";
      if ([...v].length > 100 || CONTROL.test(v)) return "ruleName";
      return null;
    }
    case "phone_number": {
      const v = value.trim();
      if (!v) return "required";
      const body = v.startsWith("+") ? v.slice(1) : v;
      if (!/^[0-9 ()\-]*$/.test(body)) return "rulePhone";
      const digits = body.replace(/[^0-9]/g, "").length;
      if (digits < 4 || digits > 20) return "rulePhone";
      return null;
    }
    case "company_name":
      if ([...value.trim()].length > 100 || CONTROL.test(value)) return "ruleCompany";
      return null;
    default:
      return null;
  }
}

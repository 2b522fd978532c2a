// The server's field rules (SPEC §2), checked as the user types. The server
// checks again; these only give earlier feedback.
// Letters and digits as the server counts them: Unicode Alphabetic (which
// takes in the vowel signs of Indic scripts) and Numeric.
const USER_ID = /^[\p{Alphabetic}\p{N}._\-@+]{1,64}$/u;
const CONTROL = /[\p{Cc}]/u;
// The server trims Unicode White_Space; String.prototype.trim also strips
// U+FEFF, which the server keeps.
const EDGE_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;
const trim = (s) => s.replace(EDGE_SPACE, "");

export function checkField(name, raw) {
  const value = raw ?? "";
  switch (name) {
    case "user_id":
      if (!value) return "required";
      if (!USER_ID.test(value) || /^\.+$/.test(value)) return "ruleUserId";
      return null;
    case "user_name": {
      const v = trim(value);
      if (!v) return "required";
      if ([...v].length > 100 || CONTROL.test(v)) return "ruleName";
      return null;
    }
    case "phone_number": {
      const v = trim(value);
      if (!v) return "required";
      const body = v.startsWith("+") ? v.slice(1) : v;
      if (!/^[0-9 ()\-]*$/.test(body)) return "rulePhone";
      const digits = body.replace(/[^0-9]/g, "").length;
      if (digits < 4 || digits > 20) return "rulePhone";
      return null;
    }
    case "company_name": {
      const v = trim(value);
      if ([...v].length > 100 || CONTROL.test(v)) return "ruleCompany";
      return null;
    }
    default:
      return null;
  }
}

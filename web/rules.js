// The server's field rules (SPEC §2), checked as the user types. The server
// checks again; these only give earlier feedback. Both are tested against
// one table of cases (tests/field-rules.json).

// Letters and digits as the server counts them: Unicode Alphabetic (which
// takes in the vowel signs of Indic scripts) and Numeric.
const USER_ID = /^[\p{Alphabetic}\p{N}._\-@+]{1,64}$/u;
const CONTROL = /\p{Cc}/u;
// Characters that reorder the text around them (U+202E evil.exe).
const DIRECTION = /[\u202A-\u202E\u2066-\u2069]/u;
// Characters that print nothing; text made only of them is refused.
const INVISIBLE = /[\p{White_Space}\p{Cc}\p{Default_Ignorable_Code_Point}\u2800]/u;
const ALL_INVISIBLE = /^[\p{White_Space}\p{Cc}\p{Default_Ignorable_Code_Point}\u2800]+$/u;
// The server trims Unicode White_Space; String.prototype.trim also strips
// U+FEFF, which the server keeps.
const EDGE_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;
const trim = (s) => s.replace(EDGE_SPACE, "");
// The server compares and stores text in Unicode NFC.
const nfc = (s) => s.normalize("NFC");

function freeText(value) {
  const v = trim(nfc(trim(value)));
  if ([...v].length > 100 || CONTROL.test(v) || DIRECTION.test(v)) return { v, ok: false };
  if (v && ALL_INVISIBLE.test(v)) return { v, ok: false };
  return { v, ok: true };
}

export function checkField(name, raw) {
  const value = raw ?? "";
  switch (name) {
    case "user_id": {
      if (!value) return "required";
      const v = nfc(value);
      if (!USER_ID.test(v) || /^\.+$/.test(v) || INVISIBLE.test(v)) return "ruleUserId";
      return null;
    }
    case "user_name": {
      const { v, ok } = freeText(value);
      if (!v && ok) return "required";
      return ok && v ? null : "ruleName";
    }
    case "phone_number": {
      if ([...value].length > 60) return "rulePhone";
      const v = trim(value);
      if (!v) return "required";
      const body = v.startsWith("+") ? v.slice(1) : v;
      if (!/^[0-9 ()\-]*$/.test(body)) return "rulePhone";
      const digits = body.replace(/[^0-9]/g, "").length;
      if (digits < 4 || digits > 20) return "rulePhone";
      return null;
    }
    case "company_name":
      return freeText(value).ok ? null : "ruleCompany";
    default:
      return null;
  }
}

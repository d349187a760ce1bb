//! Hostile text made safe for where it goes: into a store ([`storable_text`])
//! or into a log line or error message ([`log_safe`]).

use std::borrow::Cow;

/// `text` without the characters no store of ours accepts, everything else
/// byte for byte. Postgres refuses U+0000 in `text` columns (SQLSTATE 22021)
/// and C-string APIs would cut there; Rust strings cannot hold the other
/// problem characters (lone surrogates), so U+0000 is the only one dropped.
/// Borrowed when nothing had to go.
pub fn storable_text(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', ""))
    } else {
        Cow::Borrowed(text)
    }
}

/// Characters of attacker text that a log line or an error message keeps.
const LOG_SAFE_CHARS: usize = 64;

/// Attacker text for a log line or an error message: at most 64 characters
/// (then `…`), with control and format characters (new lines, escape
/// sequences, bidirectional overrides, zero-width marks) written as Rust
/// escapes (`\n`, `\u{1b}`, `\u{202e}`), so one input can neither forge a
/// log line nor hide what it was.
pub fn log_safe(text: &str) -> String {
    log_safe_clipped(text, LOG_SAFE_CHARS)
}

/// As [`log_safe`], keeping up to `max_chars` characters (for text an
/// operator needs whole, such as a dead letter's reason).
pub fn log_safe_clipped(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 2));
    for (n, c) in text.chars().enumerate() {
        if n == max_chars {
            out.push('…');
            break;
        }
        if c == '\\' {
            out.push_str("\\\\");
        } else if is_invisible(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Control characters (C0, DEL, C1) and the format characters that change how
/// the rest of a line displays or hide text.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_nul_is_dropped_from_stored_text() {
        assert_eq!(storable_text("hello\0world"), "helloworld");
        assert_eq!(storable_text("\0\0"), "");
        let kept = "验证码 123456 \u{202E}🙂\u{1}\u{FEFF}\r\n";
        assert!(matches!(storable_text(kept), Cow::Borrowed(s) if s == kept));
    }

    #[test]
    fn log_text_cannot_forge_lines_or_hide() {
        assert_eq!(log_safe("a\nINFO forged"), "a\\nINFO forged");
        assert_eq!(log_safe("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(log_safe("abc\u{202E}fed"), "abc\\u{202e}fed");
        assert_eq!(log_safe("back\\slash"), "back\\\\slash");
        assert_eq!(log_safe("验证码"), "验证码");
        let long = "x".repeat(100);
        assert_eq!(log_safe(&long), format!("{}…", "x".repeat(64)));
        assert_eq!(log_safe(&"x".repeat(64)), "x".repeat(64));
    }
}

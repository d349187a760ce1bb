//! One cell of a CSV file that people open in a spreadsheet.

use std::borrow::Cow;

/// First characters that make a spreadsheet read a cell as a formula (TAB and
/// CR are skipped by some before they look at the next character).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text` as one CSV cell (RFC 4180), safe to open in a spreadsheet.
///
/// Formula injection (OWASP "CSV Injection"): a cell starting with `=`,
/// `+`, `-`, `@`, TAB (0x09) or carriage return (0x0D) is prefixed with
/// `'`, so Excel, LibreOffice and Google Sheets show it as text instead of
/// evaluating it. Then the cell is quoted (inner `"` doubled) when it holds
/// a comma, a quote, a line break or a semicolon (the separator spreadsheets
/// use in many locales). Borrowed when nothing changed.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let text: Cow<'_, str> = if text.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    };
    if text.contains([',', '"', '\n', '\r', ';']) {
        Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_cells_are_kept() {
        for plain in ["", "plain", "/latest", "404", "验证码 123456", "a'b", "x=1"] {
            assert!(matches!(csv_cell(plain), Cow::Borrowed(s) if s == plain));
        }
    }

    #[test]
    fn separators_quotes_and_line_breaks_are_quoted() {
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("a;b"), "\"a;b\"");
    }

    #[test]
    fn every_formula_start_is_defused() {
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("+447700900001"), "'+447700900001");
        assert_eq!(csv_cell("-2+3"), "'-2+3");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\t=cmd|' /C calc'!A0"), "'\t=cmd|' /C calc'!A0");
        assert_eq!(csv_cell("\r=1+1"), "\"'\r=1+1\"");
        // Defused and quoted at once.
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x.example\",\"a,b\")"),
            "\"'=HYPERLINK(\"\"http://x.example\"\",\"\"a,b\"\")\""
        );
    }
}

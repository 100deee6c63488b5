//! `pattern` rules are checked in Rust (the `regex` crate) and exported to JSON Schema, whose
//! patterns are ECMA-262 regular expressions. The two dialects read some constructs
//! differently: `\d`, `\w`, `\s` and `\b` are Unicode-aware in Rust and ASCII (or another
//! set) in ECMA-262; `.` matches `\r` and U+2028 in Rust and not in ECMA-262; a class that
//! starts with `]` and a class inside a class are read another way there; inline flags,
//! `\A`/`\z`, POSIX and Unicode classes, class set operations, `\x{…}` and `\U0001F600` do
//! not exist there. A quantifier applied to a quantifier (`a{2}{3}`), and an escape of a
//! character ECMA-262 does not hold special (`\-` outside a class, `\%`), are syntax errors
//! there (the latter in the Unicode mode validators commonly compile patterns in).
//! Such a pattern would accept different values on each side, so the derive refuses it and
//! names the portable spelling.

use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassPerlKind, ClassSetItem, GroupKind, HexLiteralKind, LiteralKind,
    SpecialLiteralKind, Visitor,
};

/// The first construct of `pattern` that the two dialects read differently, as a message;
/// `None` when the pattern means the same in both (or does not parse: reported elsewhere).
pub(crate) fn non_portable(pattern: &str) -> Option<String> {
    let ast = ast::parse::Parser::new().parse(pattern).ok()?;
    ast::visit(&ast, Portable).err()
}

struct Portable;

fn perl(kind: &ClassPerlKind) -> String {
    let (name, portable) = match kind {
        ClassPerlKind::Digit => ("\\d", "`[0-9]`"),
        ClassPerlKind::Word => ("\\w", "`[A-Za-z0-9_]`"),
        ClassPerlKind::Space => ("\\s", "a class of the spaces meant, such as `[ \\t\\r\\n]`"),
    };
    format!(
        "`{name}` matches Unicode in Rust and ASCII or other sets in JSON Schema (ECMA-262): \
         write {portable}"
    )
}

impl Visitor for Portable {
    type Output = ();
    type Err = String;

    fn finish(self) -> Result<(), String> {
        Ok(())
    }

    fn visit_pre(&mut self, ast: &Ast) -> Result<(), String> {
        match ast {
            Ast::Dot(_) => Err(
                "`.` matches `\\r` and U+2028 in Rust but not in JSON Schema \
                                (ECMA-262): write a class, such as `[^\\n]`"
                    .to_owned(),
            ),
            Ast::ClassPerl(class) => Err(perl(&class.kind)),
            Ast::ClassUnicode(_) => Err("Unicode classes (`\\p{…}`) are not JSON Schema \
                                         (ECMA-262) syntax: list the characters in a class"
                .to_owned()),
            Ast::Flags(_) => Err(flags_msg()),
            Ast::Group(group) => match &group.kind {
                GroupKind::NonCapturing(flags) if !flags.items.is_empty() => Err(flags_msg()),
                GroupKind::CaptureName {
                    starts_with_p: true,
                    ..
                } => Err("`(?P<name>…)` is not JSON Schema (ECMA-262) syntax: write \
                          `(?<name>…)`"
                    .to_owned()),
                _ => Ok(()),
            },
            Ast::Assertion(assertion) => match assertion.kind {
                AssertionKind::StartLine | AssertionKind::EndLine => Ok(()),
                AssertionKind::StartText | AssertionKind::EndText => Err("`\\A` and `\\z` are \
                    not JSON Schema (ECMA-262) syntax: write `^` and `$`"
                    .to_owned()),
                _ => Err(
                    "word boundaries are Unicode-aware in Rust and ASCII in JSON Schema \
                          (ECMA-262): spell out what surrounds the word"
                        .to_owned(),
                ),
            },
            Ast::Literal(literal) => {
                literal_portable(&literal.kind)?;
                escape_portable(literal, false)
            }
            Ast::Repetition(repetition) if matches!(*repetition.ast, Ast::Repetition(_)) => Err(
                "a quantifier applied to a quantifier (`a{2}{3}`, `a+*`) is a syntax error in \
                 JSON Schema (ECMA-262): group the inner one, as in `(?:a{2}){3}`"
                    .to_owned(),
            ),
            _ => Ok(()),
        }
    }

    fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), String> {
        match item {
            ClassSetItem::Perl(class) => Err(perl(&class.kind)),
            ClassSetItem::Ascii(_) => Err("POSIX classes (`[[:alpha:]]`) are not JSON Schema \
                                           (ECMA-262) syntax: list the range, such as `[A-Za-z]`"
                .to_owned()),
            ClassSetItem::Unicode(_) => Err("Unicode classes (`\\p{…}`) are not JSON Schema \
                                             (ECMA-262) syntax: list the characters in a class"
                .to_owned()),
            ClassSetItem::Literal(literal) => class_literal(literal),
            ClassSetItem::Range(range) => {
                class_literal(&range.start)?;
                class_literal(&range.end)
            }
            ClassSetItem::Bracketed(_) => Err("nested classes (`[a[bc]]`) are a union in Rust \
                and not JSON Schema (ECMA-262) syntax, where the inner `[` is a character and \
                the first `]` ends the class: write one class, such as `[abc]`"
                .to_owned()),
            _ => Ok(()),
        }
    }

    fn visit_class_set_binary_op_pre(&mut self, _op: &ast::ClassSetBinaryOp) -> Result<(), String> {
        Err(
            "class set operations (`&&`, `--`, `~~`) are not JSON Schema (ECMA-262) syntax: \
             write the resulting class"
                .to_owned(),
        )
    }
}

fn flags_msg() -> String {
    "inline flags (`(?i)`, `(?s)`…) are not JSON Schema (ECMA-262) syntax: spell the cases \
     out, such as `[Aa]`"
        .to_owned()
}

/// A character of a class. An unescaped `]` in it is the one that opens the class (`[]a]`,
/// `[^]a]`): a character in Rust, while ECMA-262 reads `[]` as the empty class and `[^]` as
/// any character, and the rest of the pattern after it.
fn class_literal(literal: &ast::Literal) -> Result<(), String> {
    if literal.kind == LiteralKind::Verbatim && literal.c == ']' {
        return Err(
            "a class that starts with `]` (`[]a]`, `[^]a]`) holds `]` in Rust, and in JSON \
             Schema (ECMA-262) `[]` is empty and `[^]` any character: escape it, as in \
             `[\\]a]`"
                .to_owned(),
        );
    }
    literal_portable(&literal.kind)?;
    escape_portable(literal, true)
}

/// An escaped character: ECMA-262 in Unicode mode (the `u` flag, with which validators
/// commonly compile a schema's patterns) admits escapes of its syntax characters only, and
/// of `-` inside a class; Rust also admits `\-`, `\&`, `\~`, `\#` and, as superfluous
/// escapes, other punctuation (`\%`, `\<`).
fn escape_portable(literal: &ast::Literal, in_class: bool) -> Result<(), String> {
    let special = |c: char| "^$\\.*+?()[]{}|/".contains(c) || (in_class && c == '-');
    let escaped = match literal.kind {
        LiteralKind::Meta | LiteralKind::Superfluous => literal.c,
        _ => return Ok(()),
    };
    if special(escaped) {
        return Ok(());
    }
    Err(format!(
        "`\\{escaped}` is a syntax error in JSON Schema (ECMA-262) in the Unicode mode \
         validators compile patterns in, where only special characters are escaped: write \
         `{escaped}`"
    ))
}

fn literal_portable(kind: &LiteralKind) -> Result<(), String> {
    match kind {
        LiteralKind::HexBrace(_) => {
            Err("`\\x{…}` is not JSON Schema (ECMA-262) syntax: write the character".to_owned())
        }
        LiteralKind::HexFixed(HexLiteralKind::UnicodeLong) => Err(
            "`\\U0001F600`-style escapes are not JSON Schema (ECMA-262) syntax, which reads \
             `U` and the digits: write the character"
                .to_owned(),
        ),
        LiteralKind::Special(SpecialLiteralKind::Bell | SpecialLiteralKind::Space) => Err(
            "`\\a` and an escaped space are not JSON Schema (ECMA-262) syntax: write the \
             character"
                .to_owned(),
        ),
        LiteralKind::Octal => Err(
            "octal escapes are not JSON Schema (ECMA-262) syntax: write the character".to_owned(),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::non_portable;

    #[test]
    fn portable_patterns_pass_and_others_are_named() {
        for ok in [
            "^[A-Z]{3}-[0-9]+$",
            "^refs/(heads|tags)/",
            "^(?<kind>a|b)[^\\n]*$",
            "^[A-Za-z0-9_]{1,64}$",
            "a+?b*c{2,3}",
            "\\.\\[\\t\\n-",
            "[a\\-z]",
            "\\/\\^\\$\\|\\(\\)\\{\\}\\*\\+\\?",
            "(?:a{2}){3}",
            "[\\]a]",
            "[^\\]a]",
            "[a\\[bc\\]]",
            "[\\x41-Z]",
            "\\u00e9\\x41",
        ] {
            assert_eq!(non_portable(ok), None, "{ok}");
        }
        for (bad, says) in [
            ("^\\d+$", "`\\d`"),
            ("[\\w-]", "`\\w`"),
            ("a\\sb", "`\\s`"),
            ("a.b", "`.`"),
            ("\\bword\\b", "word boundaries"),
            ("\\Aabc\\z", "`\\A`"),
            ("(?i)abc", "inline flags"),
            ("(?i:abc)", "inline flags"),
            ("(?P<n>a)", "(?P<name>"),
            ("\\p{Greek}", "Unicode classes"),
            ("[\\p{L}]", "Unicode classes"),
            ("[[:alpha:]]", "POSIX"),
            ("[a-z&&[^x]]", "set operations"),
            ("\\x{41}", "\\x{"),
            ("[\\x{41}-Z]", "\\x{"),
            ("[A-\\x{5A}]", "\\x{"),
            ("\\U0001F600", "`\\U0001F600`"),
            ("[\\U0001F600]", "`\\U0001F600`"),
            ("[]a]", "starts with `]`"),
            ("[^]a]", "starts with `]`"),
            ("[]-a]", "starts with `]`"),
            ("[a[bc]]", "nested classes"),
            ("[^a[^b]]", "nested classes"),
            ("^[a-z]{2}{3}$", "quantifier applied to a quantifier"),
            ("a+*", "quantifier applied to a quantifier"),
            ("a???", "quantifier applied to a quantifier"),
            ("a\\-b", "`\\-`"),
            ("a\\&b", "`\\&`"),
            ("a\\%b", "`\\%`"),
            ("[\\~]", "`\\~`"),
        ] {
            let message = non_portable(bad).unwrap_or_default();
            assert!(message.contains(says), "{bad}: {message}");
        }
    }
}

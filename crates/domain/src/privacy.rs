//! Masking of personal data in public views and exports (PIPL): a natural
//! person's ID number and phone number are never shown in full.

/// Masks a mainland mobile (`138****5678`) or a landline (keeps area code and last 2).
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() == 11 && digits[0] == '1' {
        let s: String = digits.iter().collect();
        return format!("{}****{}", &s[..3], &s[7..]);
    }
    mask_middle(phone, 4, 2)
}

/// Masks an ID number keeping the first 3 and last 2 characters
/// (`140***********123X` style), whatever the document type.
pub fn mask_id_number(id: &str) -> String {
    mask_middle(id, 3, 2)
}

/// Masks a person's name, keeping the surname: 张三 → 张*, 欧阳娜娜 → 欧***.
pub fn mask_person_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

fn mask_middle(s: &str, keep_head: usize, keep_tail: usize) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    if chars.len() <= keep_head + keep_tail {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..keep_head].iter().collect();
    let tail: String = chars[chars.len() - keep_tail..].iter().collect();
    format!(
        "{head}{}{tail}",
        "*".repeat(chars.len() - keep_head - keep_tail)
    )
}

/// True when a string contains something shaped like a mainland mobile number
/// (also with a `86` prefix, or written `139-1234-5678` / `139 1234 5678`) or
/// an 18-digit resident ID; used by export tests and public-view guards.
pub fn contains_personal_number(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    !personal_spans(&chars).is_empty()
}

/// Masks every personal number inside free text — a mobile or ID number that
/// a department wrote into an address, a name or a decision — with the masks
/// of [`mask_phone`] and [`mask_id_number`], keeping separators and all other
/// text as it is. Open data passes every text cell through it.
pub fn mask_personal_numbers(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for span in personal_spans(&chars) {
        let number: String = span.positions.iter().map(|&i| chars[i]).collect();
        let masked = match span.kind {
            NumberKind::Mobile => mask_phone(&number),
            NumberKind::ResidentId => mask_id_number(&number),
        };
        for (&i, m) in span.positions.iter().zip(masked.chars()) {
            chars[i] = m;
        }
    }
    chars.into_iter().collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberKind {
    Mobile,
    ResidentId,
}

/// A personal number found in text: the character positions of its digits
/// (separators excluded) and what it is.
struct Span {
    positions: Vec<usize>,
    kind: NumberKind,
}

/// Groups of a digit run: `[start, end)` character ranges.
type Group = (usize, usize);

/// Finds personal numbers. Digits are read in runs (any other character ends
/// a run, so a longer number such as a 12-digit division code is not taken
/// for a phone); runs joined by one `-` or space are also read together, as
/// people write `139-1234-5678` or `140105 19900307 123X`.
fn personal_spans(chars: &[char]) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    for token in tokens(chars) {
        // Windows of up to 4 groups cover 3-4-4 (mobile) and 6-8-4 / 6-4-4-4 (ID) writing;
        // the longest are tried first, so that part of an ID is not read as a phone.
        let mut windows: Vec<(usize, usize)> = (0..token.len())
            .flat_map(|first| (first..token.len().min(first + 4)).map(move |last| (first, last)))
            .collect();
        windows.sort_by_key(|&(first, last)| std::cmp::Reverse(last - first));
        for (first, last) in windows {
            let mut positions: Vec<usize> = token[first..=last]
                .iter()
                .flat_map(|&(a, b)| a..b)
                .collect();
            // A resident ID may end in X: the character right after 17 digits.
            let after = token[last].1;
            if positions.len() == 17 && matches!(chars.get(after), Some('X' | 'x')) {
                positions.push(after);
            }
            let taken = |p: &usize| spans.iter().any(|s| s.positions.contains(p));
            if positions.iter().any(taken) {
                continue;
            }
            let run: Vec<char> = positions.iter().map(|&i| chars[i]).collect();
            if let Some((kind, skip)) = personal_kind(&run) {
                positions.drain(..skip);
                spans.push(Span { positions, kind });
            }
        }
    }
    spans
}

/// Digit runs, grouped into tokens where one `-` or space separates them.
fn tokens(chars: &[char]) -> Vec<Vec<Group>> {
    let mut tokens: Vec<Vec<Group>> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let joined = tokens
            .last()
            .and_then(|t| t.last())
            .is_some_and(|&(_, end)| end + 1 == start && matches!(chars[end], '-' | ' '));
        if joined {
            tokens
                .last_mut()
                .expect("a previous token")
                .push((start, i));
        } else {
            tokens.push(vec![(start, i)]);
        }
    }
    tokens
}

/// What a run of digits is, and how many leading characters are not part
/// of the number (the `86` country code).
fn personal_kind(run: &[char]) -> Option<(NumberKind, usize)> {
    let mobile = |r: &[char]| r.len() == 11 && r[0] == '1' && ('3'..='9').contains(&r[1]);
    if mobile(run) {
        Some((NumberKind::Mobile, 0))
    } else if run.len() == 13 && run[..2] == ['8', '6'] && mobile(&run[2..]) {
        Some((NumberKind::Mobile, 2))
    } else if is_resident_id(run) {
        Some((NumberKind::ResidentId, 0))
    } else {
        None
    }
}

/// GB 11643 resident ID: a plausible birth date and the ISO 7064 MOD 11-2 check,
/// so that an all-digit credit code is not mistaken for an ID number.
fn is_resident_id(run: &[char]) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    if run.len() != 18 || !run[..17].iter().all(char::is_ascii_digit) {
        return false;
    }
    let digit = |i: usize| run[i].to_digit(10).unwrap_or(0);
    let number = |from: usize, len: usize| (from..from + len).fold(0, |acc, i| acc * 10 + digit(i));
    let (year, month, day) = (number(6, 4), number(10, 2), number(12, 2));
    if !(1900..=2100).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    let sum: u32 = (0..17).map(|i| digit(i) * WEIGHTS[i]).sum();
    CHECK[(sum % 11) as usize] as char == run[17].to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("0351-7654321"), "0351******21");
        assert_eq!(mask_id_number("11010519491231002X"), "110*************2X");
        assert_eq!(mask_person_name("张三"), "张*");
        assert_eq!(mask_id_number("12"), "**");
    }

    #[test]
    fn detects_personal_numbers() {
        assert!(contains_personal_number("电话13812345678。"));
        assert!(contains_personal_number("11010519491231002X"));
        assert!(!contains_personal_number("911401001234567890"));
        assert!(!contains_personal_number("138****5678"));
        assert!(!contains_personal_number("0351-7654321"));
        assert!(!contains_personal_number(&mask_phone("13812345678")));
        assert!(contains_personal_number("+86 139-1234-5678"));
        assert!(contains_personal_number("8613912345678"));
        assert!(contains_personal_number("身份证140105 19900307 1234"));
        assert!(
            !contains_personal_number("140105001001"),
            "a community code"
        );
        assert!(!contains_personal_number("2024-03-01 0351-7654321"));
    }

    #[test]
    fn masks_personal_numbers_inside_text() {
        assert_eq!(
            mask_personal_numbers("联系人张三，电话13912345678，身份证号11010519491231002X。"),
            "联系人张三，电话139****5678，身份证号110*************2X。"
        );
        assert_eq!(
            mask_personal_numbers("手机 139-1234-5678 或 +8613812345678"),
            "手机 139-****-5678 或 +86138****5678"
        );
        assert_eq!(
            mask_personal_numbers("110105 19491231 002X"),
            "110*** ******** **2X"
        );
        let untouched = "太原市小店区坞城路92号，0351-7001234，140105001001，2026-11-27";
        assert_eq!(mask_personal_numbers(untouched), untouched);
        for masked in [
            mask_personal_numbers("13912345678"),
            mask_personal_numbers("x11010519491231002Xy"),
        ] {
            assert!(!contains_personal_number(&masked), "{masked}");
        }
    }
}

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
/// or an 18-digit resident ID; used by export tests and public-view guards.
pub fn contains_personal_number(s: &str) -> bool {
    let bytes: Vec<char> = s.chars().collect();
    let mut run = 0usize;
    let mut start = 0usize;
    for (i, c) in bytes.iter().enumerate() {
        if c.is_ascii_digit() || ((*c == 'X' || *c == 'x') && run == 17) {
            if run == 0 {
                start = i;
            }
            run += 1;
        } else {
            if is_personal_run(&bytes[start..start + run]) {
                return true;
            }
            run = 0;
        }
    }
    is_personal_run(&bytes[start..start + run])
}

fn is_personal_run(run: &[char]) -> bool {
    (run.len() == 11 && run[0] == '1' && ('3'..='9').contains(&run[1])) || is_resident_id(run)
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
    }
}

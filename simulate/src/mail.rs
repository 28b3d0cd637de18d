//! "No email sent twice for the same reason", from the file backend's folder: two messages with
//! the same recipient, subject and text are one reason sent twice (the backend keeps one file
//! per idempotency key, so a second file means a second key for the same thing). With a real
//! SMTP server the folder is its maildir: every message it accepted is a file in `new/`.

use crate::invariants::Line;
use std::collections::HashMap;
use std::path::Path;

pub(crate) fn check(dir: &Path) -> Line {
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    let listing = |d: &Path| {
        std::fs::read_dir(d)
            .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let eml = listing(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"));
    let maildir = listing(&dir.join("new"))
        .into_iter()
        .chain(listing(&dir.join("cur")))
        .filter(|p| p.is_file());
    let mut n = 0;
    for path in eml.chain(maildir) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        n += 1;
        let (headers, body) = text
            .split_once("\r\n\r\n")
            .or_else(|| text.split_once("\n\n"))
            .unwrap_or((&text, ""));
        let header = |name: &str| {
            headers
                .lines()
                .find(|l| {
                    l.to_ascii_lowercase()
                        .starts_with(&format!("{}:", name.to_ascii_lowercase()))
                })
                .map(|l| l[name.len() + 1..].trim().to_owned())
                .unwrap_or_default()
        };
        let reason = format!("{}|{}|{}", header("To"), header("Subject"), body.trim());
        seen.entry(reason).or_default().push(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    let v = seen
        .into_iter()
        .filter(|(_, files)| files.len() > 1)
        .map(|(reason, files)| {
            format!(
                "{} copies: {} ({})",
                files.len(),
                reason.split('|').take(2).collect::<Vec<_>>().join(" / "),
                files.join(", ")
            )
        })
        .collect();
    Line::new("no email sent twice for the same reason", n, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_message_under_two_keys_is_a_double_send() {
        let dir = std::env::temp_dir().join(format!("sim-mail-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        let msg =
            |to: &str| format!("To: {to}\r\nSubject: Your appointment\r\n\r\nTuesday 10:30\r\n");
        std::fs::write(dir.join("a.eml"), msg("x@example.com")).expect("write");
        std::fs::write(dir.join("b.eml"), msg("y@example.com")).expect("write");
        assert!(check(&dir).pass);
        std::fs::write(dir.join("c.eml"), msg("x@example.com")).expect("write");
        let line = check(&dir);
        assert!(!line.pass);
        assert_eq!(line.checked, 3);
        assert!(
            line.violations[0].contains("x@example.com"),
            "{:?}",
            line.violations
        );
        // A maildir (the SMTP server's) counts the same way.
        std::fs::create_dir_all(dir.join("new")).expect("maildir");
        std::fs::remove_file(dir.join("c.eml")).expect("rm");
        std::fs::write(dir.join("new").join("1700.M1.host"), msg("z@example.com")).expect("write");
        assert!(check(&dir).pass);
        std::fs::write(dir.join("new").join("1700.M2.host"), msg("z@example.com")).expect("write");
        let line = check(&dir);
        assert!(!line.pass && line.checked == 4, "{line:?}");
        assert!(
            line.violations[0].contains("z@example.com"),
            "{:?}",
            line.violations
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

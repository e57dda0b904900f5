//! The benchmark guest's result lines: `BENCH <path> <instructions> <iterations> [min=<m>]
//! [max=<n>]`, possibly behind the console's domain prefix `(d<N>) `.

/// One parsed `BENCH` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchLine {
    /// The path's name.
    pub path: String,
    /// Instructions (the median over the iterations).
    pub instructions: u64,
    /// Iterations measured.
    pub iterations: u64,
    /// Fewest instructions of one iteration, when given.
    pub minimum: Option<u64>,
    /// Most instructions of one iteration, when given.
    pub maximum: Option<u64>,
}

/// Parses one serial line; `None` for anything that is not a well-formed `BENCH` line.
#[must_use]
pub fn parse(line: &str) -> Option<BenchLine> {
    let line = line.trim_end_matches(['\r', '\n']);
    let text = strip_domain_prefix(line);
    let mut words = text.strip_prefix("BENCH ")?.split_whitespace();
    let path = words.next()?.to_owned();
    let instructions = words.next()?.parse().ok()?;
    let iterations = words.next()?.parse().ok()?;
    let (mut minimum, mut maximum) = (None, None);
    for word in words {
        let (key, value) = word.split_once('=')?;
        let value = value.parse().ok()?;
        match key {
            "min" => minimum = Some(value),
            "max" => maximum = Some(value),
            _ => return None,
        }
    }
    Some(BenchLine { path, instructions, iterations, minimum, maximum })
}

/// Every `BENCH` line among `lines`, in order.
#[must_use]
pub fn parse_all(lines: &[String]) -> Vec<BenchLine> {
    lines.iter().filter_map(|line| parse(line)).collect()
}

/// `line` without a leading `(d<N>) ` (how the console prefixes a domain's output).
fn strip_domain_prefix(line: &str) -> &str {
    let Some(rest) = line.strip_prefix("(d") else { return line };
    match rest.split_once(") ") {
        Some((number, text)) if !number.is_empty() && number.bytes().all(|byte| byte.is_ascii_digit()) => text,
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_guest_line_behind_the_domain_prefix() {
        let line = parse("(d1) BENCH null-hvc 3140 1000 min=3140 max=5613\r").unwrap();
        assert_eq!(
            line,
            BenchLine {
                path: "null-hvc".into(),
                instructions: 3140,
                iterations: 1000,
                minimum: Some(3140),
                maximum: Some(5613)
            }
        );
    }

    #[test]
    fn parses_a_bare_line_without_extremes() {
        let line = parse("BENCH virtual-timer-raw 1 20").unwrap();
        assert_eq!((line.path.as_str(), line.instructions, line.iterations), ("virtual-timer-raw", 1, 20));
        assert_eq!((line.minimum, line.maximum), (None, None));
    }

    #[test]
    fn refuses_malformed_lines() {
        for text in [
            "somnus: ready board=qemu-virt",
            "BENCH",
            "BENCH null-hvc",
            "BENCH null-hvc x 10",
            "BENCH null-hvc 10",
            "BENCH null-hvc 10 20 median=3",
            "BENCH null-hvc 10 20 min=x",
            "(dx) BENCH null-hvc 10 20",
            "xBENCH null-hvc 10 20",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn collects_every_line_in_order() {
        let lines: Vec<String> =
            ["(d1) BENCH a 1 2", "(d1) hello", "(d12) BENCH b 3 4 min=3"].iter().map(|&s| s.to_owned()).collect();
        let parsed = parse_all(&lines);
        assert_eq!(parsed.iter().map(|line| line.path.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }
}

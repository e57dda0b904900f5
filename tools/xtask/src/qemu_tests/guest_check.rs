//! Checks of what the domains print: after a complete boot (the right ready line, every CPU
//! online), given lines must appear after the ready line, some lines must never appear anywhere,
//! and a line may have to be followed by at least so many lines of another kind (a heartbeat that
//! keeps going after its neighbour's test passed).
//!
//! Domain output reaches the console as whole lines prefixed by the domain, `(d<N>) `, numbered
//! from 1 in the order of the domain file.

use std::fmt;

use crate::qemu_tests::boot_check::{Expected, boot_progress};
use crate::qemu_tests::kernel_log::KernelLog;
use crate::qemu_tests::runner::Progress;

/// A kind of output line: a substring, anywhere in a line or in the output of one domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// Domain number (`(d<N>) `) whose lines alone match; `None` for any line.
    pub domain: Option<u8>,
    /// The substring.
    pub text: &'static str,
}

impl Pattern {
    /// Lines containing `text`, whoever printed them.
    pub const fn anywhere(text: &'static str) -> Self {
        Self { domain: None, text }
    }

    /// Lines of domain `domain` (prefixed `(d<domain>) `) whose text contains `text`.
    pub const fn domain(domain: u8, text: &'static str) -> Self {
        Self { domain: Some(domain), text }
    }

    /// Whether `line` is of this kind.
    pub fn matches(&self, line: &str) -> bool {
        match self.domain {
            None => line.contains(self.text),
            Some(domain) => line.split_once(&format!("(d{domain}) ")).is_some_and(|(_, text)| text.contains(self.text)),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.domain {
            None => write!(formatter, "`{}`", self.text),
            Some(domain) => write!(formatter, "`(d{domain}) ...{}`", self.text),
        }
    }
}

/// "After the first `after` line (following the ready line), at least `count` lines `matching`,
/// all before the first `before` line after it, if one is given."
#[derive(Clone, Copy, Debug)]
pub struct FollowedBy {
    /// The line that starts the count.
    pub after: Pattern,
    /// How many lines must follow.
    pub count: usize,
    /// The lines counted.
    pub matching: Pattern,
    /// A line that ends the count: the lines must come before it.
    pub before: Option<Pattern>,
}

/// What the output of a boot with domains must show.
#[derive(Clone, Copy, Debug)]
pub struct GuestExpectations {
    /// Number of domains the configuration must have (the ready line's `domains=`).
    pub domains: usize,
    /// Lines that must appear after the ready line, in any order.
    pub required: &'static [Pattern],
    /// Lines that must never appear, besides [`ALWAYS_FORBIDDEN`].
    pub forbidden: &'static [Pattern],
    /// Counted sequences after the ready line.
    pub followed_by: &'static [FollowedBy],
}

/// Lines no test with domains may show: a guest's test failure, a hypervisor exception or panic,
/// a domain or CPU that did not start, an interrupt nobody expected.
pub const ALWAYS_FORBIDDEN: [Pattern; 9] = [
    Pattern::anywhere("TEST FAIL"),
    Pattern::anywhere("somnus: unexpected exception"),
    Pattern::anywhere("panicked"),
    Pattern::anywhere("somnus: SError"),
    Pattern::anywhere("somnus: unexpected physical interrupt"),
    Pattern::anywhere("not started"),
    Pattern::anywhere("bundle is unusable"),
    Pattern::anywhere("could not be started"),
    Pattern::anywhere("did not come online"),
];

/// Missing lines named in a message; the rest are counted.
const SHOWN_MISSING: usize = 3;

/// A complete boot with the expected number of domains, no forbidden line, then everything
/// `want` asks for after the ready line.
pub fn check_guests(expected: Expected, want: &GuestExpectations, lines: &[String]) -> Progress {
    if expected.domains != want.domains {
        return Progress::Failed(format!(
            "the image carries {} domains, the test expects {}",
            expected.domains, want.domains
        ));
    }
    let forbidden = ALWAYS_FORBIDDEN.iter().chain(want.forbidden);
    for (index, line) in lines.iter().enumerate() {
        if let Some(pattern) = forbidden.clone().find(|pattern| pattern.matches(line)) {
            return Progress::Failed(format!("line {}: `{}` (forbidden: {pattern})", index + 1, line.trim_end()));
        }
    }
    boot_progress(expected, lines).then(|| after_ready(want, lines))
}

fn after_ready(want: &GuestExpectations, lines: &[String]) -> Progress {
    let log = KernelLog::new(lines);
    let Some((ready, _)) = log.starting_with("somnus: ready ").next() else {
        return Progress::Waiting("no ready line".to_owned());
    };
    let first_after = |pattern: &Pattern, from: usize| {
        lines.iter().enumerate().skip(from + 1).find(|(_, line)| pattern.matches(line)).map(|(index, _)| index)
    };
    let mut missing = Vec::new();
    for pattern in want.required {
        if first_after(pattern, ready).is_some() {
            continue;
        }
        if let Some(early) = lines[..ready].iter().position(|line| pattern.matches(line)) {
            return Progress::Failed(format!(
                "{pattern} appeared on line {} before the ready line (line {}), when no guest may run yet",
                early + 1,
                ready + 1
            ));
        }
        missing.push(pattern.to_string());
    }
    if !missing.is_empty() {
        let more = missing.len().saturating_sub(SHOWN_MISSING);
        missing.truncate(SHOWN_MISSING);
        let more = if more > 0 { format!(" (and {more} more)") } else { String::new() };
        return Progress::Waiting(format!("no {}{more} after the ready line", missing.join(", ")));
    }
    want.followed_by.iter().fold(Progress::Done, |progress, rule| {
        progress.then(|| {
            let Some(start) = first_after(&rule.after, ready) else {
                return Progress::Waiting(format!("no {} after the ready line", rule.after));
            };
            let end = rule.before.and_then(|before| first_after(&before, start));
            let window = &lines[start + 1..end.unwrap_or(lines.len())];
            let seen = window.iter().filter(|line| rule.matching.matches(line)).count();
            match (seen >= rule.count, rule.before.zip(end)) {
                (true, _) => Progress::Done,
                (false, Some((before, _))) => Progress::Failed(format!(
                    "only {seen} {} lines between {} and {before}, expected {}",
                    rule.matching, rule.after, rule.count
                )),
                (false, None) => Progress::Waiting(format!(
                    "only {seen} of {} {} lines after {}",
                    rule.count, rule.matching, rule.after
                )),
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;
    use crate::machine::{GicVersion, Machine};

    const WANT: GuestExpectations = GuestExpectations {
        domains: 2,
        required: &[Pattern::domain(1, "TEST PASS a"), Pattern::anywhere("(d2) beat: every")],
        forbidden: &[Pattern::domain(2, "stopped")],
        followed_by: &[FollowedBy {
            after: Pattern::domain(1, "TEST PASS a"),
            count: 2,
            matching: Pattern::domain(2, "beat "),
            before: None,
        }],
    };

    /// More required lines than a message names.
    const MANY: GuestExpectations = GuestExpectations {
        required: &[Pattern::anywhere("w1"), Pattern::anywhere("w2"), Pattern::anywhere("w3"), Pattern::anywhere("w4")],
        followed_by: &[],
        ..WANT
    };

    fn expected(domains: usize) -> Expected {
        let machine = Machine::new(Board::QemuVirt, Some(GicVersion::V2), Some(1), None).unwrap();
        Expected { machine, domains }
    }

    /// A boot with two domains and then `guest_lines`.
    fn log(guest_lines: &[&str]) -> Vec<String> {
        let mut lines = vec![
            "somnus: cpu 0 online (mpidr 0x0), EL2 timer ticking".to_owned(),
            "somnus: ready board=qemu-virt gic=v2 cpus=1 domains=2".to_owned(),
        ];
        lines.extend(guest_lines.iter().map(|line| (*line).to_owned()));
        lines
    }

    fn check(lines: &[String]) -> Progress {
        check_guests(expected(2), &WANT, lines)
    }

    #[test]
    fn patterns_match_by_domain_prefix() {
        let pass = Pattern::domain(1, "TEST PASS a");
        assert!(pass.matches("(d1) TEST PASS a"));
        assert!(pass.matches("noise(d1) TEST PASS abc"));
        assert!(!pass.matches("(d2) TEST PASS a"));
        assert!(!pass.matches("(d11) TEST PASS a"));
        assert!(Pattern::anywhere("TEST FAIL").matches("(d3) TEST FAIL x: y"));
        assert_eq!(pass.to_string(), "`(d1) ...TEST PASS a`");
    }

    #[test]
    fn everything_in_place_is_done() {
        let lines = log(&["(d2) beat: every 100 ms", "(d1) TEST PASS a", "(d2) beat 0", "(d1) x", "(d2) beat 1"]);
        assert_eq!(check(&lines), Progress::Done);
    }

    #[test]
    fn waits_for_required_lines_and_the_count() {
        let Progress::Waiting(reason) = check(&log(&["(d2) beat 0"])) else { panic!("not waiting") };
        assert_eq!(reason, "no `(d1) ...TEST PASS a`, `(d2) beat: every` after the ready line");
        let Progress::Waiting(reason) = check_guests(expected(2), &MANY, &log(&[])) else { panic!("not waiting") };
        assert_eq!(reason, "no `w1`, `w2`, `w3` (and 1 more) after the ready line");
        let lines = log(&["(d2) beat: every 100 ms", "(d2) beat 0", "(d1) TEST PASS a", "(d2) beat 1"]);
        let Progress::Waiting(reason) = check(&lines) else { panic!("not waiting") };
        assert_eq!(reason, "only 1 of 2 `(d2) ...beat ` lines after `(d1) ...TEST PASS a`");
        let Progress::Waiting(reason) = check(&log(&[]).drain(..1).collect::<Vec<_>>()) else { panic!() };
        assert!(reason.contains("no ready line"), "{reason}");
    }

    #[test]
    fn forbidden_lines_fail_anywhere() {
        let Progress::Failed(reason) = check(&log(&["(d2) beat stopped"])) else { panic!("not failed") };
        assert_eq!(reason, "line 3: `(d2) beat stopped` (forbidden: `(d2) ...stopped`)");
        for line in ["(d1) TEST FAIL a: no", "somnus: unexpected exception on cpu 0: x", "(d1) panicked at x"] {
            assert!(matches!(check(&log(&[line])), Progress::Failed(_)), "{line}");
        }
        let mut early = log(&[]);
        early.insert(0, "somnus: domain 2 \"b\" not started: no memory".to_owned());
        assert!(matches!(check(&early), Progress::Failed(r) if r.contains("not started")));
    }

    #[test]
    fn required_lines_before_the_ready_line_fail() {
        let mut lines = log(&["(d2) beat: every 100 ms"]);
        lines.insert(0, "(d1) TEST PASS a".to_owned());
        let Progress::Failed(reason) = check(&lines) else { panic!("not failed") };
        assert!(reason.contains("line 1 before the ready line (line 3)"), "{reason}");
    }

    #[test]
    fn a_closed_window_with_too_few_lines_fails() {
        const WINDOW: GuestExpectations = GuestExpectations {
            followed_by: &[FollowedBy {
                after: Pattern::domain(1, "seed"),
                count: 2,
                matching: Pattern::domain(2, "ok"),
                before: Some(Pattern::domain(1, "TEST PASS")),
            }],
            required: &[],
            ..WANT
        };
        let want = WINDOW;
        let good = log(&["(d1) seed", "(d2) ok", "(d2) ok", "(d1) TEST PASS a"]);
        assert_eq!(check_guests(expected(2), &want, &good), Progress::Done);
        let short = log(&["(d1) seed", "(d2) ok", "(d1) TEST PASS a", "(d2) ok"]);
        let Progress::Failed(reason) = check_guests(expected(2), &want, &short) else { panic!("not failed") };
        assert_eq!(reason, "only 1 `(d2) ...ok` lines between `(d1) ...seed` and `(d1) ...TEST PASS`, expected 2");
    }

    #[test]
    fn the_domain_count_must_match() {
        let Progress::Failed(reason) = check_guests(expected(3), &WANT, &log(&[])) else { panic!("not failed") };
        assert_eq!(reason, "the image carries 3 domains, the test expects 2");
    }
}

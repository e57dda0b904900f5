//! Running external programs (cargo, mkimage, apt-get, ...) with their output either on the
//! terminal or in a log file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{Context, Result, bail};

/// Where the commands of one task print: the terminal (interactive commands) or a log file
/// (`cargo xtask test`, which shows a log only when its test fails).
pub enum Sink {
    /// Output goes to the terminal; each command line is echoed to stderr first.
    Terminal,
    /// Output and command lines go to this log file.
    Log {
        /// The open log.
        file: File,
        /// Its path, for error messages.
        path: PathBuf,
    },
}

impl Sink {
    /// A sink writing to a new (truncated) log file, creating its directory.
    pub fn log_file(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self::Log { file, path: path.to_path_buf() })
    }

    /// Writes an informational line (stderr on the terminal).
    pub fn note(&self, line: &str) {
        match self {
            Self::Terminal => eprintln!("{line}"),
            Self::Log { file, .. } => append(file, format!("{line}\n").as_bytes()),
        }
    }

    /// Runs a command to completion and fails if it does not exit successfully.
    pub fn run(&self, command: &mut Command) -> Result<()> {
        let status = self.status(command)?;
        if status.success() { Ok(()) } else { bail!("`{}` failed ({status}){}", describe(command), self.see_log()) }
    }

    /// Runs a command to completion and returns its exit status.
    pub fn status(&self, command: &mut Command) -> Result<ExitStatus> {
        self.note(&format!("$ {}", describe(command)));
        if let Self::Log { file, .. } = self {
            command.stdout(file.try_clone()?).stderr(file.try_clone()?);
        }
        command.stdin(Stdio::null());
        command.status().with_context(|| format!("cannot start `{}`", describe(command)))
    }

    /// Runs a command, fails unless it exits successfully, and returns its standard output
    /// (also copied to a log sink; the terminal shows only its stderr).
    pub fn output(&self, command: &mut Command) -> Result<String> {
        self.note(&format!("$ {}", describe(command)));
        match self {
            Self::Terminal => command.stderr(Stdio::inherit()),
            Self::Log { file, .. } => command.stderr(file.try_clone()?),
        };
        let output =
            command.stdin(Stdio::null()).output().with_context(|| format!("cannot start `{}`", describe(command)))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if let Self::Log { file, .. } = self {
            append(file, stdout.as_bytes());
        }
        if !output.status.success() {
            bail!("`{}` failed ({}){}", describe(command), output.status, self.see_log());
        }
        Ok(stdout)
    }

    fn see_log(&self) -> String {
        match self {
            Self::Terminal => String::new(),
            Self::Log { path, .. } => format!(", see {}", path.display()),
        }
    }
}

/// Appends to a log; a log that cannot be written loses the text, the command's status still decides.
fn append(mut file: &File, bytes: &[u8]) {
    let _ = file.write_all(bytes);
}

/// The command line of a command, as a shell would show it (arguments with spaces quoted).
pub fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|arg| {
            let arg = arg.to_string_lossy();
            if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                format!("'{}'", arg.replace('\'', r"'\''"))
            } else {
                arg.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Finds an executable in `$PATH`.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| {
        candidate.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_quotes_only_what_needs_it() {
        let mut command = Command::new("qemu-system-aarch64");
        command.args(["-M", "virt,gic-version=3", "-append", "console=ttyAMA0 quiet", "it's", ""]);
        assert_eq!(
            describe(&command),
            r"qemu-system-aarch64 -M virt,gic-version=3 -append 'console=ttyAMA0 quiet' 'it'\''s' ''"
        );
    }

    #[test]
    fn finds_programs_in_path() {
        assert!(find_in_path("sh").is_some());
        assert!(find_in_path("surely-no-such-program-here").is_none());
    }

    #[test]
    fn log_sink_captures_output_and_reports_failure() {
        let dir = std::env::temp_dir().join(format!("xtask-process-test-{}", std::process::id()));
        let log = dir.join("sub/out.log");
        let sink = Sink::log_file(&log).unwrap();
        sink.run(Command::new("sh").args(["-c", "echo to-stdout; echo to-stderr >&2"])).unwrap();
        let out = sink.output(Command::new("sh").args(["-c", "echo captured"])).unwrap();
        assert_eq!(out, "captured\n");
        let err = sink.run(Command::new("sh").args(["-c", "exit 3"])).unwrap_err();
        assert!(err.to_string().contains("out.log"), "{err}");
        let text = std::fs::read_to_string(&log).unwrap();
        for expected in ["$ sh -c", "to-stdout", "to-stderr", "captured"] {
            assert!(text.contains(expected), "{expected:?} missing from {text:?}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}

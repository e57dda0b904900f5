//! Command-line parsing: every command, the `--connect` forms, domain arguments, `--timeout`,
//! and the refusals with their messages; the exit codes in `--help`.

use std::path::PathBuf;
use std::process::Command as Process;
use std::time::Duration;

use clap::Parser;
use pwrctl::cli::{Cli, Command, DomainArgument, Target};
use somnus_abi::management::DomainSelector;

fn parse(arguments: &[&str]) -> Result<Cli, String> {
    Cli::try_parse_from(["pwrctl"].iter().chain(arguments)).map_err(|error| error.to_string())
}

fn command(arguments: &[&str]) -> Command {
    let mut full = vec!["--connect", "unix:/tmp/somnus.sock"];
    full.extend_from_slice(arguments);
    parse(&full).unwrap().command
}

fn name(text: &str) -> DomainArgument {
    DomainArgument(DomainSelector::Name(heapless::String::try_from(text).unwrap()))
}

#[test]
fn every_command() {
    let linux = name("linux");
    let two = DomainArgument(DomainSelector::Number(2));
    assert_eq!(command(&["list"]), Command::List { json: false });
    assert_eq!(command(&["list", "--json"]), Command::List { json: true });
    assert_eq!(command(&["show", "linux"]), Command::Show { domain: linux.clone() });
    assert_eq!(command(&["show", "2"]), Command::Show { domain: two.clone() });
    assert_eq!(command(&["watch"]), Command::Watch { events: None });
    assert_eq!(command(&["watch", "--events", "4"]), Command::Watch { events: Some(4) });
    assert_eq!(command(&["wake", "linux"]), Command::Wake { domain: linux.clone() });
    assert_eq!(command(&["pause", "2"]), Command::Pause { domain: two.clone() });
    assert_eq!(command(&["unpause", "2"]), Command::Unpause { domain: two });
    assert_eq!(command(&["reset", "linux"]), Command::Reset { domain: linux.clone() });
    assert_eq!(command(&["off", "linux"]), Command::Off { domain: linux });
    assert_eq!(command(&["console"]), Command::Console);
}

#[test]
fn connect_forms_and_options() {
    let cli = parse(&["--connect", "unix:/tmp/somnus.sock", "list"]).unwrap();
    assert_eq!(cli.connect, Target::Unix(PathBuf::from("/tmp/somnus.sock")));
    assert_eq!(cli.baud, 115_200);
    assert_eq!(cli.timeout, Duration::from_secs(5));
    assert!(!cli.show_console);
    let cli = parse(&["--connect", "tcp:localhost:4321", "--timeout", "0.25", "--show-console", "list"]).unwrap();
    assert_eq!(cli.connect, Target::Tcp("localhost:4321".to_owned()));
    assert_eq!(cli.timeout, Duration::from_millis(250));
    assert!(cli.show_console);
    let cli = parse(&["--connect", "/dev/ttyUSB1", "--baud", "921600", "watch"]).unwrap();
    assert_eq!(cli.connect, Target::Serial(PathBuf::from("/dev/ttyUSB1")));
    assert_eq!(cli.baud, 921_600);
    assert_eq!(cli.connect.to_string(), "/dev/ttyUSB1");
    assert_eq!("tcp:[::1]:80".parse::<Target>(), Ok(Target::Tcp("[::1]:80".to_owned())));
}

#[test]
fn bad_connect_is_refused_with_a_clear_message() {
    let cases = [
        ("ttyUSB0", "`ttyUSB0` is not a connection; expected unix:PATH, tcp:HOST:PORT or a serial device path"),
        ("unix:", "`unix:` names no socket path"),
        ("tcp:localhost", "`tcp:localhost` has no port"),
        ("tcp:localhost:http", "`tcp:localhost:http` is not HOST:PORT with a port number"),
        ("tcp::80", "`tcp::80` is not HOST:PORT with a port number"),
    ];
    for (target, message) in cases {
        let error = parse(&["--connect", target, "list"]).unwrap_err();
        assert!(error.contains(message), "{target}: {error}");
        assert!(error.contains("--connect"), "{target}: {error}");
    }
}

#[test]
fn bad_arguments_are_refused() {
    let long_name = "x".repeat(33);
    let refused = [
        (&["list"][..], "--connect"),
        (&["--connect", "unix:/s", "show"][..], "<DOMAIN>"),
        (&["--connect", "unix:/s", "wake", "0"][..], "domain numbers go from 1 to 255, not 0"),
        (&["--connect", "unix:/s", "wake", "256"][..], "domain numbers go from 1 to 255, not 256"),
        (&["--connect", "unix:/s", "off", &long_name][..], "domain names are at most 32 bytes long"),
        (&["--connect", "unix:/s", "--timeout", "0", "list"][..], "`0` is not a positive number of seconds"),
        (&["--connect", "unix:/s", "--timeout", "soon", "list"][..], "`soon` is not a positive number"),
        (&["--connect", "unix:/s", "suspend", "1"][..], "unrecognized subcommand 'suspend'"),
        (&["--connect", "unix:/s"][..], "Usage"),
    ];
    for (arguments, message) in refused {
        let error = parse(arguments).unwrap_err();
        assert!(error.contains(message), "{arguments:?}: {error}");
    }
}

#[test]
fn help_documents_the_exit_codes() {
    let output = Process::new(env!("CARGO_BIN_EXE_pwrctl")).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for line in [
        "3  cannot connect, or the connection was lost",
        "4  unknown domain",
        "5  protocol version mismatch",
        "6  timeout waiting for the hypervisor",
        "7  request invalid in the domain's state",
        "Ctrl-] s prints the power states, Ctrl-] q quits",
    ] {
        assert!(help.contains(line), "{line:?} missing from\n{help}");
    }
}

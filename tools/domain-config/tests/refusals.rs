//! One negative fixture per refusal (`tests/fixtures/refusals/*.toml`): each must be refused
//! with a one-line message naming the file, the domain and the exact field.

mod common;

use somnus_domain_config::{ConfigError, DomainRef, Host, build_bundle};

/// A fixture and what its refusal must say.
struct Refusal {
    /// File name under `tests/fixtures/refusals/`.
    fixture: &'static str,
    /// Machine it is checked against.
    host: Host,
    /// The domain named, if any.
    domain: Option<DomainRef>,
    /// The field named.
    field: &'static str,
    /// Text the message must contain after the field.
    problem: &'static str,
}

fn named(name: &str) -> DomainRef {
    DomainRef::Named(name.to_owned())
}

fn refusals() -> Vec<Refusal> {
    let qemu = common::qemu_virt();
    let refusal = |fixture, domain, field, problem| Refusal { fixture, host: qemu, domain, field, problem };
    vec![
        refusal("duplicate-name", Some(named("a")), "name", "= \"a\" is already the name of domain #1"),
        refusal("pcpu-missing", Some(named("linux")), "pcpus[1]", "= 5, but the machine has 4 CPUs"),
        refusal("pcpus-length", Some(named("a")), "pcpus", "has 1 entry, but vcpus = 2"),
        refusal("kernel-missing", Some(named("a")), "kernel", "= \"../kernels/no-such-kernel\": no such file"),
        refusal("kernel-not-a-file", Some(named("a")), "kernel", "= \"../kernels\": is not a regular file"),
        refusal("initrd-missing", Some(named("a")), "initrd", "= \"../kernels/no-such-initrd\": no such file"),
        refusal(
            "device-unknown",
            Some(named("a")),
            "devices[0]",
            "= \"gpio\": no such device on board qemu-virt (known: rtc)",
        ),
        Refusal {
            fixture: "device-not-on-board",
            host: common::zcu102(),
            domain: Some(named("a")),
            field: "devices[0]",
            problem: "device \"rtc\" is not available on board zcu102 (only on qemu-virt)",
        },
        Refusal {
            fixture: "device-uart1-on-qemu-virt",
            host: qemu,
            domain: Some(named("a")),
            field: "devices[0]",
            problem: "= \"uart1\": device \"uart1\" is not available on board qemu-virt (only on zcu102)",
        },
        refusal("device-twice", Some(named("a")), "devices[1]", "= \"rtc\" is listed twice"),
        refusal(
            "interrupt-shared",
            Some(named("b")),
            "devices[0]",
            "its interrupt (SPI 2) is already given to domain \"a\"",
        ),
        refusal("memory-total", Some(named("b")), "memory_mib", "total to 1024 MiB, but board qemu-virt has 1008 MiB"),
        refusal("memory-odd", Some(named("a")), "memory_mib", "= 3 is not a multiple of 2"),
        refusal("memory-too-small", Some(named("a")), "memory_mib", "= 0, but a domain needs at least 2 MiB"),
        refusal("vcpus-out-of-range", Some(named("a")), "vcpus", "= 9, but a domain has 1 to 8 vCPUs"),
        refusal("name-invalid", Some(DomainRef::Numbered(1)), "name", "= \"my domain\" is not a valid name"),
        refusal("name-too-long", Some(DomainRef::Numbered(1)), "name", "is not a valid name"),
        refusal("unknown-key", Some(named("a")), "memory", "is not a known key"),
        refusal("missing-key", Some(named("a")), "kernel", "is missing"),
        refusal("syntax-error", None, "line 4", "is not valid TOML"),
        refusal("no-domains", None, "[[domain]]", "is missing: at least one domain is needed"),
        refusal("too-many-domains", None, "[[domain]]", "appears 9 times, but at most 8 domains are allowed"),
        refusal(
            "kernel-too-large",
            Some(named("a")),
            "kernel",
            "is too large for the domain's memory: it needs 0x40000000..0x50000000",
        ),
        refusal(
            "kernel-overlaps-device-tree",
            Some(named("a")),
            "kernel",
            "0x40000000..0x403f8000 overlaps the device tree at 0x403f0000..0x40400000",
        ),
        refusal("initrd-overlaps-kernel", Some(named("a")), "initrd", "overlaps the kernel at 0x40000000..0x403ef800"),
    ]
}

fn refuse(refusal: &Refusal) -> ConfigError {
    let path = common::fixture(&format!("refusals/{}.toml", refusal.fixture));
    assert!(path.is_file(), "fixture {} is missing", path.display());
    match build_bundle(&path, &refusal.host) {
        Ok(_) => panic!("{} was accepted", refusal.fixture),
        Err(error) => error,
    }
}

#[test]
fn every_refusal_names_the_domain_and_the_field() {
    for refusal in refusals() {
        let error = refuse(&refusal);
        let message = error.to_string();
        let fixture = refusal.fixture;
        assert_eq!(error.field, refusal.field, "{fixture}: {message}");
        assert_eq!(error.domain, refusal.domain, "{fixture}: {message}");
        assert!(error.problem.contains(refusal.problem), "{fixture}: {message}");
        assert!(!message.contains('\n'), "{fixture}: not one line: {message:?}");
        let file = common::fixture(&format!("refusals/{fixture}.toml"));
        let domain = refusal.domain.map(|domain| format!("{domain}: ")).unwrap_or_default();
        let expected_start = format!("{}: {domain}{} ", file.display(), refusal.field);
        assert!(message.starts_with(&expected_start), "{fixture}: {message:?} does not start with {expected_start:?}");
    }
}

#[test]
fn every_fixture_is_covered() {
    let covered: Vec<String> = refusals().iter().map(|refusal| format!("{}.toml", refusal.fixture)).collect();
    let dir = common::fixture("refusals");
    for entry in std::fs::read_dir(&dir).expect("fixture directory") {
        let name = entry.expect("directory entry").file_name().to_string_lossy().into_owned();
        assert!(covered.contains(&name), "fixture {name} has no expectation");
    }
}

#[test]
fn pcpu_message_is_exactly_the_documented_one() {
    let error = refuse(&refusals().into_iter().find(|refusal| refusal.fixture == "pcpu-missing").expect("listed"));
    let message = error.in_file("domains.toml").to_string();
    assert_eq!(message, "domains.toml: domain \"linux\": pcpus[1] = 5, but the machine has 4 CPUs");
}

#[test]
fn the_same_file_passes_where_the_machine_allows_it() {
    let path = common::fixture("refusals/pcpu-missing.toml");
    let six_cpus = Host { cpus: 6, ..common::qemu_virt() };
    assert_eq!(build_bundle(&path, &six_cpus).expect("six CPUs are enough").domain_count(), 1);
    let path = common::fixture("refusals/device-not-on-board.toml");
    assert!(build_bundle(&path, &common::qemu_virt()).is_ok(), "qemu-virt has the RTC");
    let path = common::fixture("refusals/device-uart1-on-qemu-virt.toml");
    assert!(build_bundle(&path, &common::zcu102()).is_ok(), "zcu102 has UART1");
}

#[test]
fn a_missing_configuration_file_is_refused() {
    let path = common::fixture("refusals/no-such-file.toml");
    let error = build_bundle(&path, &common::qemu_virt()).expect_err("refused");
    assert_eq!(error.field, "file");
    assert!(error.problem.starts_with("cannot be read"), "{error}");
}

#[test]
fn an_initrd_larger_than_the_ram_below_the_device_tree_is_refused() {
    // Generated rather than a fixture: the initrd has to be larger than the smallest domain.
    let dir = common::scratch_dir("initrd-too-large");
    std::fs::write(dir.join("kernel.bin"), b"raw").unwrap();
    std::fs::write(dir.join("initrd.bin"), vec![0_u8; 3 << 20]).unwrap();
    let toml =
        "[[domain]]\nname = \"a\"\nvcpus = 1\nmemory_mib = 2\nkernel = \"kernel.bin\"\ninitrd = \"initrd.bin\"\n";
    std::fs::write(dir.join("domains.toml"), toml).unwrap();
    let error = build_bundle(&dir.join("domains.toml"), &common::qemu_virt()).expect_err("refused");
    assert_eq!((error.domain.clone(), error.field.as_str()), (Some(named("a")), "initrd"));
    assert!(
        error.problem.contains("3072 KiB do not fit in the domain's RAM below the device tree at 0x401f0000"),
        "{error}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

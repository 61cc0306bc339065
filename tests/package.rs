//! What the installer gets: the systemd unit as shipped (it verifies, and its exposure
//! score stays at or under 2.0) and the Debian package (its contents, conffiles and
//! maintainer scripts, and that it installs, configures and purges cleanly).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `tool` can be run; when not, the test says so and does not pass silently.
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        eprintln!("SKIPPED: {tool} is not installed on this machine");
    }
    found
}

/// The shipped unit with its binary paths pointed at the binary under test, so that
/// `systemd-analyze verify` can check the commands exist.
fn unit_for_verify(dir: &Path) -> PathBuf {
    let unit = std::fs::read_to_string(repo().join("systemd/picket.service")).unwrap();
    let unit = unit.replace("/usr/bin/picket", env!("CARGO_BIN_EXE_picket"));
    let path = dir.join("picket.service");
    std::fs::write(&path, unit).unwrap();
    path
}

#[test]
fn the_unit_verifies_without_a_warning() {
    if !have("systemd-analyze") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(unit_for_verify(dir.path()))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    // verify exits 0 on a directive it ignores; it says so on stderr.
    assert!(said.trim().is_empty(), "systemd-analyze verify: {said}");
}

#[test]
fn the_unit_is_hardened_to_an_exposure_of_at_most_2() {
    if !have("systemd-analyze") {
        return;
    }
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(repo().join("systemd/picket.service"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let overall = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no overall score in: {text}"));
    let score: f64 = overall
        .split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the score in {overall:?}"));
    println!("systemd-analyze security: {}", overall.trim());
    assert!(score <= 2.0, "{overall}\n{text}");
    // Hardening must not hide what picket drives.
    let unit = std::fs::read_to_string(repo().join("systemd/picket.service")).unwrap();
    for needed in [
        "DeviceAllow=char-gpiochip rw",
        "SupplementaryGroups=gpio video dialout",
        "Type=notify",
        "WatchdogSec=",
    ] {
        assert!(unit.contains(needed), "the unit lacks {needed}");
    }
    assert!(
        !unit.contains("PrivateDevices=yes"),
        "it would hide /dev/gpiochip*"
    );
}

/// A package the test command built (`tests/run.sh`: `cargo deb`, for both targets).
fn package(arch: &str) -> PathBuf {
    let version = env!("CARGO_PKG_VERSION");
    let dir = match arch {
        "amd64" => repo().join("target/debian"),
        "arm64" => repo().join("target/aarch64-unknown-linux-gnu/debian"),
        other => panic!("no target for {other}"),
    };
    let path = dir.join(format!("picket_{version}-1_{arch}.deb"));
    assert!(
        path.exists(),
        "{} is missing: tests/run.sh builds it (cargo deb --no-build --strip [--target …])",
        path.display()
    );
    path
}

/// Runs `cmd`, which must succeed; its standard output.
fn succeeds(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dpkg_deb(args: &[&str], package: &Path) -> String {
    succeeds(Command::new("dpkg-deb").args(args).arg(package))
}

/// A control file of `package` (`conffiles`, `postinst`…), extracted.
fn control_file(package: &Path, name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    succeeds(
        Command::new("dpkg-deb")
            .arg("--control")
            .arg(package)
            .arg(dir.path()),
    );
    std::fs::read_to_string(dir.path().join(name)).unwrap_or_default()
}

#[test]
fn both_packages_carry_the_binary_unit_user_and_configs_for_their_architecture() {
    for (arch, machine) in [("amd64", "x86-64"), ("arm64", "aarch64")] {
        let deb = package(arch);
        let info = dpkg_deb(&["--info"], &deb);
        for field in [
            format!("Architecture: {arch}"),
            format!("Version: {}-1", env!("CARGO_PKG_VERSION")),
            "Recommends: mosquitto".to_string(),
            "Suggests: gammu-smsd".to_string(),
        ] {
            assert!(info.contains(&field), "{arch}: no {field:?} in\n{info}");
        }
        let contents = dpkg_deb(&["--contents"], &deb);
        for path in [
            "./usr/bin/picket",
            "./usr/lib/systemd/system/picket.service",
            "./usr/lib/sysusers.d/picket.conf",
            "./usr/lib/tmpfiles.d/picket.conf",
            "./etc/picket/picket.toml",
            "./etc/picket/examples/demo.toml",
            "./etc/picket/examples/factory-gate.toml",
            "./etc/picket/examples/warehouse.toml",
            "./usr/share/doc/picket/README.md",
            "./usr/share/doc/picket/install.md",
        ] {
            assert!(
                contents.lines().any(|l| l.ends_with(path)),
                "{arch}: {path} missing from\n{contents}"
            );
        }
        assert!(
            !contents.contains("/var/lib/picket"),
            "the package never carries a journal"
        );
        let conffiles = control_file(&deb, "conffiles");
        for conf in contents
            .lines()
            .filter_map(|l| l.split_whitespace().last())
            .filter(|p| p.starts_with("./etc/") && p.ends_with(".toml"))
        {
            assert!(
                conffiles.lines().any(|c| c == &conf[1..]),
                "{arch}: {conf} is not a conffile: {conffiles}"
            );
        }
        let postinst = control_file(&deb, "postinst");
        assert!(
            postinst.contains("systemd-sysusers picket.conf"),
            "{postinst}"
        );
        assert!(postinst.contains("deb-systemd-helper enable picket.service"));
        let postrm = control_file(&deb, "postrm");
        assert!(
            !postrm.contains("/var/lib/picket/") && !postrm.contains("rm -rf /var/lib"),
            "purge keeps the journal: {postrm}"
        );
        // The binary inside is for the package's machine.
        let dir = tempfile::tempdir().unwrap();
        succeeds(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(dir.path()));
        let file = succeeds(Command::new("file").arg(dir.path().join("usr/bin/picket")));
        assert!(
            file.contains(machine) && file.contains("stripped"),
            "{arch}: {file}"
        );
        assert!(!file.contains("not stripped"), "{arch}: {file}");
    }
}

/// Runs `program` as root, directly or through `sudo -n` (installing a package needs it).
fn as_root(program: &str, args: &[&str]) -> std::process::Output {
    // SAFETY: getuid(2) has no preconditions.
    let root = unsafe { libc::getuid() } == 0;
    let mut cmd = if root {
        Command::new(program)
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg("-n").arg(program);
        sudo
    };
    let out = cmd.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const MARKER: &[u8] = b"a journal the package must never touch (tests/package.rs)";

#[test]
fn the_amd64_package_installs_checks_its_config_keeps_the_journal_and_purges_clean() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let deb = package("amd64");
    let journal = Path::new("/var/lib/picket/journal.db");
    if let Ok(found) = std::fs::read(journal) {
        assert_eq!(
            found, MARKER,
            "picket has a real journal on this machine; this test installs and purges \
             the package, so it refuses to run here"
        );
    }
    let deb = deb.to_str().unwrap();
    as_root("dpkg", &["-i", deb]);

    let groups = as_root("id", &["-nG", "picket"]);
    let groups = String::from_utf8_lossy(&groups.stdout);
    for group in ["gpio", "video", "dialout"] {
        assert!(
            groups.split_whitespace().any(|g| g == group),
            "picket not in {group}: {groups}"
        );
    }
    let picket_uid: u32 = String::from_utf8_lossy(&as_root("id", &["-u", "picket"]).stdout)
        .trim()
        .parse()
        .unwrap();
    let config = std::fs::metadata("/etc/picket/picket.toml").unwrap();
    assert_eq!(config.uid(), 0, "root owns the configuration");
    assert_eq!(config.permissions().mode() & 0o777, 0o640);
    let state = std::fs::metadata("/var/lib/picket").unwrap();
    assert!(state.is_dir());
    assert_eq!(state.uid(), picket_uid, "picket owns its state directory");
    // The installed configuration is valid and readable by the service's user.
    let checked = as_root(
        "runuser",
        &[
            "-u",
            "picket",
            "--",
            "/usr/bin/picket",
            "check-config",
            "/etc/picket/picket.toml",
        ],
    );
    assert!(String::from_utf8_lossy(&checked.stdout).contains("OK"));

    // An installer's edits and the journal survive installing again.
    as_root(
        "sh",
        &["-c", "echo '# edited on site' >> /etc/picket/picket.toml"],
    );
    std::fs::write(journal, MARKER).unwrap();
    as_root("dpkg", &["-i", deb]);
    assert!(
        std::fs::read_to_string("/etc/picket/picket.toml")
            .unwrap()
            .contains("# edited on site"),
        "the conffile keeps the installer's edit"
    );
    assert_eq!(
        std::fs::read(journal).unwrap(),
        MARKER,
        "the journal is untouched"
    );

    as_root("dpkg", &["--purge", "picket"]);
    for gone in [
        "/usr/bin/picket",
        "/usr/lib/systemd/system/picket.service",
        "/usr/lib/sysusers.d/picket.conf",
        "/etc/picket",
        "/var/log/picket",
    ] {
        assert!(!Path::new(gone).exists(), "{gone} is left after purge");
    }
    assert_eq!(
        std::fs::read(journal).unwrap(),
        MARKER,
        "purge keeps the journal"
    );
    as_root("rm", &["-r", "/var/lib/picket"]);
}

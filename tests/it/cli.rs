//! The command line as a newcomer meets it: `--help` grouped under headings
//! with defaults and bounds, examples in every command's help, hints for a
//! terminal on stdin and for a command written after flags, the time
//! spellings `--parse-time` shares with `pull --start`, stdout write errors,
//! and shell completions and man pages that cover every flag.

use crate::common::*;
use clap::CommandFactory;
use std::process::{Command, Stdio};
use teamlog::cli::{heading, Cli};

/// Every command of the clap tree (the root first) with its full name.
fn commands() -> Vec<(String, clap::Command)> {
    fn walk(prefix: &str, cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = format!("{prefix} {}", sub.get_name());
            out.push((name.clone(), sub.clone()));
            walk(&name, sub, out);
        }
    }
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut out = vec![("teamlog".to_string(), root.clone())];
    walk("teamlog", &root, &mut out);
    out
}

/// `--help` text with its line wrapping undone, for phrases that may wrap.
fn unwrapped(help: &str) -> String {
    help.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The visible flags of `cmd` as `(long, short)`, `--help`/`--version` included.
fn flags(cmd: &clap::Command) -> Vec<(Option<String>, Option<char>)> {
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
        .map(|a| (a.get_long().map(str::to_string), a.get_short()))
        .collect()
}

#[test]
fn help_groups_the_filter_flags_under_headings_in_order() {
    let o = run(&["--help"], b"");
    assert_eq!(code(&o), 0);
    let h = stdout(&o);
    let at: Vec<usize> = heading::ALL
        .iter()
        .map(|name| {
            h.find(&format!("\n{name}:\n"))
                .unwrap_or_else(|| panic!("--help has no {name} heading:\n{h}"))
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "headings out of order:\n{h}"
    );
    // Every flag of the filter sits under one of them (only -h and -V
    // stay under "Options").
    let root = Cli::command();
    for arg in root.get_arguments() {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        assert!(
            arg.get_help_heading()
                .is_some_and(|h| heading::ALL.contains(&h)),
            "{id} has no heading"
        );
    }
    // Where each group's flags appear: a sample per heading.
    let section = |name: &str| {
        let i = heading::ALL.iter().position(|n| *n == name).unwrap();
        let end = at.get(i + 1).copied().unwrap_or(h.len());
        h[at[i]..end].to_string()
    };
    for (name, flag) in [
        (heading::INPUT, "--recursive"),
        (heading::INPUT, "--max-line-bytes"),
        (heading::OUTPUT, "--output-dir"),
        (heading::OUTPUT, "--rejects"),
        (heading::NORMALIZATION, "--row-id"),
        (heading::NORMALIZATION, "--parse-time"),
        (heading::PERFORMANCE, "--threads"),
        (heading::PERFORMANCE, "--chunk-size"),
        (heading::REPORTING, "--stats"),
        (heading::REPORTING, "--show-rejects"),
    ] {
        assert!(
            section(name).contains(flag),
            "{flag} not under {name}:\n{h}"
        );
    }
}

#[test]
fn help_shows_every_default_and_bound() {
    let h = unwrapped(&stdout(&run(&["--help"], b"")));
    for needle in [
        "[default: all cores]",
        "1 to 1024",
        "[default: 16M]",
        "1 byte to 1G",
        "[default: 1M]",
        "4K to 256M",
        "[default: 10]",
        "[default: none]",
        "[default: sequential]",
        "[default: the run's start]",
    ] {
        assert!(h.contains(needle), "--help lacks {needle}:\n{h}");
    }
    // The bound in the help is the bound the parser enforces.
    let max = teamlog::cli::values::MAX_THREADS.to_string();
    assert!(h.contains(&format!("1 to {max}")));
    assert_eq!(code(&run(&["--threads", &max, "-q"], b"")), 0);
    let over = (teamlog::cli::values::MAX_THREADS + 1).to_string();
    assert_eq!(code(&run(&["--threads", &over, "-q"], b"")), 2);

    let g = unwrapped(&stdout(&run(&["generate", "--help"], b"")));
    let default = format!(
        "[default: {} when --bytes",
        teamlog::generate::DEFAULT_COUNT
    );
    assert!(
        g.contains(&default),
        "generate --help lacks {default}:\n{g}"
    );
    assert!(g.contains("first limit reached"), "{g}");
    assert!(
        g.contains("[default: 1]") && g.contains("[default: 0]"),
        "{g}"
    );
}

#[test]
fn every_command_has_examples_in_its_help() {
    for (name, _) in commands() {
        let mut args: Vec<&str> = name.split(' ').skip(1).collect();
        args.push("--help");
        let o = run(&args, b"");
        assert_eq!(code(&o), 0, "{name} --help");
        let h = stdout(&o);
        let examples = h.split("\nExamples:\n").nth(1).unwrap_or_default();
        assert!(
            examples.starts_with("  ") && examples.contains("teamlog"),
            "{name} --help has no examples:\n{h}"
        );
    }
}

/// Runs `shell_cmd` under a pseudo-terminal (util-linux `script`), typing
/// `typed` into it; `None` where `script` is missing.
fn on_a_terminal(shell_cmd: &str, typed: &[u8]) -> Option<String> {
    Command::new("script").arg("--version").output().ok()?;
    let mut child = Command::new("script")
        .args(["-qec", shell_cmd, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(typed).unwrap();
    let out = child.wait_with_output().unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_terminal_on_stdin_gets_a_hint_and_is_read() {
    let exe = env!("CARGO_BIN_EXE_teamlog");
    // One event typed, then Ctrl-D ends the input.
    let typed = format!("{}\n\x04", event_with(""));
    let Some(text) = on_a_terminal(
        &format!("{exe} --parse-time {PARSE_TIME} 2>&1 >/dev/null"),
        typed.as_bytes(),
    ) else {
        return;
    };
    assert!(
        text.contains("teamlog: reading events from stdin (a terminal)"),
        "{text:?}"
    );
    assert_eq!(
        text.matches("reading events from stdin").count(),
        1,
        "{text:?}"
    );
    assert!(
        text.contains("1 lines: 1 events written"),
        "read on after the hint: {text:?}"
    );
    // Not with -q, a FILE, or stdin that is not a terminal.
    let quiet = on_a_terminal(&format!("{exe} -q"), b"\x04").unwrap();
    assert!(!quiet.contains("reading events"), "{quiet:?}");
    let f = spec_examples();
    let file = on_a_terminal(&format!("{exe} {} > /dev/null", f.display()), b"").unwrap();
    assert!(!file.contains("reading events"), "{file:?}");
    assert!(!stderr(&run(&[], b"")).contains("reading events"));
}

#[test]
fn a_command_after_flags_or_files_gets_told_commands_come_first() {
    let f = spec_examples();
    for args in [
        vec!["-q", "schema"],
        vec![f.to_str().unwrap(), "schema"],
        vec!["-q", "generate"],
    ] {
        let o = run(&args, b"");
        assert_eq!(code(&o), 2, "{args:?}");
        let err = stderr(&o);
        let name = args[1];
        assert!(
            err.contains(&format!("no file named \"{name}\""))
                && err.contains(&format!("`teamlog {name} ...`")),
            "{args:?}: {err}"
        );
        assert!(o.stdout.is_empty(), "nothing is processed: {args:?}");
    }
    // A file that really has such a name is read like any other.
    let dir = tempdir();
    std::fs::write(dir.path().join("schema"), format!("{}\n", event_with(""))).unwrap();
    let o = bin()
        .args(["-q", "schema"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(events(&o).len(), 1);
}

#[test]
fn parse_time_takes_the_spellings_of_pull_start() {
    let line = format!("{}\n", event_with(""));
    let parse_time = |spelling: &str| -> String {
        let o = run(&["--parse-time", spelling], line.as_bytes());
        assert_eq!(code(&o), 0, "{spelling}: {}", stderr(&o));
        events(&o)[0]["p_parse_time"].as_str().unwrap().to_string()
    };
    assert_eq!(parse_time("2024-01-01"), "2024-01-01 00:00:00.000000000");
    assert_eq!(
        parse_time("2024-01-01T00:00:00Z"),
        "2024-01-01 00:00:00.000000000"
    );
    assert_eq!(
        parse_time("2024-01-01T03:00:00.5+03:00"),
        "2024-01-01 00:00:00.500000000"
    );
    assert!(
        parse_time("7d") < parse_time("1d"),
        "durations count back from now"
    );
    let o = run(&["--parse-time", "yesterday"], line.as_bytes());
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("a date like 2024-05-01") && err.contains("like 7d"),
        "{err}"
    );
}

#[test]
fn write_errors_on_stdout_say_cannot_write_to_stdout() {
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    for args in [
        vec!["schema"],
        vec!["generate", "--count", "100"],
        vec!["completions", "bash"],
        vec!["man"],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = bin().args(&args).stdout(full).output().unwrap();
        assert_eq!(code(&o), 2, "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains("teamlog: error: cannot write to stdout: No space left on device"),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn completions_name_every_command_and_flag() {
    let tree = commands();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run(&["completions", shell], b"");
        assert_eq!(code(&o), 0, "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        assert!(!script.is_empty());
        for (name, cmd) in &tree {
            let last = name.rsplit(' ').next().unwrap();
            assert!(
                script.contains(last),
                "{shell} completions lack the command {name}"
            );
            for (long, short) in flags(cmd) {
                if let Some(l) = long {
                    let spelled = if shell == "fish" {
                        format!("-l {l}")
                    } else {
                        format!("--{l}")
                    };
                    assert!(
                        script.contains(&spelled),
                        "{shell} completions lack {name} --{l}"
                    );
                }
                if let Some(s) = short {
                    let spelled = if shell == "fish" {
                        format!("-s {s}")
                    } else {
                        format!("-{s}")
                    };
                    assert!(
                        script.contains(&spelled),
                        "{shell} completions lack {name} -{s}"
                    );
                }
            }
        }
    }
    assert_eq!(code(&run(&["completions", "tcsh"], b"")), 2);
}

#[test]
fn man_pages_name_every_command_and_flag() {
    let tree = commands();
    let root = stdout(&run(&["man"], b""));
    assert!(root.contains("\n.TH teamlog 1 "), "{root}");
    for (name, cmd) in &tree {
        let mut args = vec!["man"];
        args.extend(name.split(' ').skip(1));
        let o = run(&args, b"");
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        let page = stdout(&o);
        if name != "teamlog" {
            // The main page lists every command.
            let page_name = name.replace(' ', "\\-");
            assert!(
                root.contains(&page_name),
                "teamlog(1) does not list {page_name}"
            );
        }
        // roff spells "-" as "\-".
        for (long, short) in flags(cmd) {
            if let Some(l) = long {
                let spelled = format!("\\-\\-{}", l.replace('-', "\\-"));
                assert!(page.contains(&spelled), "man {name} lacks --{l}");
            }
            if let Some(s) = short {
                assert!(page.contains(&format!("\\-{s}")), "man {name} lacks -{s}");
            }
        }
    }
    let o = run(&["man", "nosuch"], b"");
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("schema, generate, auth, pull"),
        "{}",
        stderr(&o)
    );
}

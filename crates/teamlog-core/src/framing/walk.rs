//! FILE arguments into sources: stdin (`-`, once), named files of any kind
//! (a FIFO or device named on the command line is read, as `cat` would), and
//! with `-r` the regular files under a directory, sorted by path.
//!
//! Under `-r` nothing is opened while walking, and nothing can hang the run:
//! FIFOs, sockets and devices are skipped and reported (opening a FIFO blocks
//! until someone writes to it); symlinks are skipped and reported unless
//! `follow` (`-L`, as in ripgrep and fd), and with `follow` a symlink loop is
//! reported and not entered.

use super::Source;
use std::path::{Path, PathBuf};

/// A usage problem with the inputs, found before anything is read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}: is a directory (use -r/--recursive to read the files under it)")]
    Directory(String),
    #[error("{path}: cannot list directory: {err}")]
    Walk { path: String, err: String },
    #[error("`-` (stdin) is named more than once; stdin can be read only once")]
    StdinTwice,
    #[error("{path}: not under --relative-to {base}; give a directory that holds every input")]
    NotUnder { path: String, base: String },
}

/// How directory arguments are walked.
#[derive(Clone, Copy, Debug, Default)]
pub struct WalkOptions<'a> {
    /// `-r`: read the files under directory arguments.
    pub recursive: bool,
    /// `-L`: follow symlinks met under a directory.
    pub follow: bool,
    /// `--relative-to`: every source's `rel` is its path below this
    /// directory (so one file of a tree gets the output path a `-r` run of
    /// the tree gives it).
    pub relative_to: Option<&'a Path>,
}

/// The sources, and what the walk skipped (one line each, for stderr).
#[derive(Debug, Default)]
pub struct Inputs {
    pub sources: Vec<Source>,
    pub skipped: Vec<String>,
}

/// Turns FILE arguments into sources: none or `-` is stdin; directories are an
/// error unless `recursive`, in which case the regular files under them come
/// sorted by path (component by component). See [`WalkOptions::relative_to`].
pub fn expand(
    args: &[PathBuf],
    recursive: bool,
    relative_to: Option<&Path>,
) -> Result<Vec<Source>, InputError> {
    let opts = WalkOptions {
        recursive,
        follow: false,
        relative_to,
    };
    expand_with(args, opts).map(|i| i.sources)
}

/// [`expand`] with every walk option, also returning what was skipped.
pub fn expand_with(args: &[PathBuf], opts: WalkOptions<'_>) -> Result<Inputs, InputError> {
    let mut inputs = Inputs::default();
    if args.is_empty() {
        inputs.sources.push(Source::stdin());
        return Ok(inputs);
    }
    let mut stdin_seen = false;
    for a in args {
        if a.as_os_str() == "-" {
            if std::mem::replace(&mut stdin_seen, true) {
                return Err(InputError::StdinTwice);
            }
            inputs.sources.push(Source::stdin());
        } else if a.is_dir() {
            if !opts.recursive {
                return Err(InputError::Directory(Source::display_name(a)));
            }
            walk(a, opts.follow, &mut inputs)?;
        } else {
            inputs.sources.push(Source::file(a.clone()));
        }
    }
    if let Some(base) = opts.relative_to {
        for s in &mut inputs.sources {
            s.rel = rel_below(s, base)?;
        }
    }
    Ok(inputs)
}

/// `src`'s path below `base`: compared as written, else with both resolved
/// (`./T/a` under `T`), the file's own name kept as it is.
fn rel_below(src: &Source, base: &Path) -> Result<PathBuf, InputError> {
    let not_under = || InputError::NotUnder {
        path: src.name.to_string(),
        base: Source::display_name(base),
    };
    let path = src.path.as_deref().ok_or_else(not_under)?;
    if let Ok(rel) = path.strip_prefix(base) {
        if !rel.as_os_str().is_empty() {
            return Ok(rel.to_path_buf());
        }
    }
    let resolved = match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
        .map(|d| d.join(name)),
        _ => return Err(not_under()),
    };
    match (resolved, std::fs::canonicalize(base)) {
        (Ok(p), Ok(b)) => match p.strip_prefix(&b) {
            Ok(rel) if !rel.as_os_str().is_empty() => Ok(rel.to_path_buf()),
            _ => Err(not_under()),
        },
        _ => Err(not_under()),
    }
}

fn walk(dir: &Path, follow: bool, inputs: &mut Inputs) -> Result<(), InputError> {
    let shown = |p: &Path| Source::display_name(p);
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(follow)
        .sort_by_file_name()
    {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let at = e.path().map_or_else(|| shown(dir), shown);
                if let Some(ancestor) = e.loop_ancestor() {
                    inputs.skipped.push(format!(
                        "{at}: symlink loop (it leads back to {}), not followed",
                        shown(ancestor)
                    ));
                    continue;
                }
                let broken = follow
                    && e.io_error()
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
                    && e.path().is_some_and(|p| p.is_symlink());
                if broken {
                    inputs.skipped.push(format!(
                        "{at}: broken symlink (its target does not exist), skipped"
                    ));
                    continue;
                }
                return Err(InputError::Walk {
                    path: shown(dir),
                    err: e.to_string(),
                });
            }
        };
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        if ft.is_file() {
            let path = entry.into_path();
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
            inputs.sources.push(Source {
                rel,
                ..Source::file(path)
            });
            continue;
        }
        let what = kind(&ft);
        let why = if ft.is_symlink() {
            "not followed (use -L/--follow to follow symlinks under -r)"
        } else {
            "skipped (under -r only regular files are read; name it as an argument to read it)"
        };
        inputs
            .skipped
            .push(format!("{}: {what}, {why}", shown(entry.path())));
    }
    Ok(())
}

/// What a directory entry that is not a regular file is.
fn kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_symlink() {
        "a symlink"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_char_device() {
        "a character device"
    } else {
        "not a regular file"
    }
}

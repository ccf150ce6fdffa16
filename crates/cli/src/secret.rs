//! Where passphrases come from: the `TAU_PASSPHRASE` environment variable,
//! a `--passphrase-file`, or a prompt on the terminal.

use std::path::Path;

use anyhow::{bail, Context, Result};
use zeroize::Zeroizing;

/// The environment variable holding the passphrase for non-interactive use.
pub const PASSPHRASE_ENV: &str = "TAU_PASSPHRASE";

/// The passphrase for `what`: from `file` (its first line), else
/// [`PASSPHRASE_ENV`], else asked on the terminal (twice when `new`).
pub fn passphrase(file: Option<&Path>, what: &str, new: bool) -> Result<Zeroizing<String>> {
    if let Some(file) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(file)
                .with_context(|| format!("reading the passphrase file {}", file.display()))?,
        );
        return Ok(Zeroizing::new(
            text.lines().next().unwrap_or_default().to_string(),
        ));
    }
    if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Zeroizing::new(value));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(format!("passphrase for {what}: "))
            .context("reading the passphrase (set TAU_PASSPHRASE or --passphrase-file when not on a terminal)")?,
    );
    if new {
        let second = Zeroizing::new(rpassword::prompt_password("again: ")?);
        if first != second {
            bail!("the passphrases differ");
        }
    }
    Ok(first)
}

//! Reading the settings of the `ses` and `tenants` examples from the environment.

/// A setting, `None` when unset. One that is set but blank (an unset `${…}` in a deployment)
/// or not UTF-8 stops the start-up, naming it: read as unset, it would start the demo mode,
/// or change where keys come from.
pub(crate) fn env(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Err(format!(
            "{name} is set but empty (unset it, or give it a value)"
        )),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    }
}

/// The address to listen on: `WEBHOOK_ADDR`, blank meaning `default` as in the other
/// receivers.
pub(crate) fn listen_addr(default: &str) -> String {
    std::env::var("WEBHOOK_ADDR")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

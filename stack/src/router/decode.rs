//! What a channel logs of its traffic: the decode level and the fragment logger, which writes
//! application headers at debug level and values at trace level through `tracing`.

use crate::app::Fragment;

/// How much of the traffic a channel logs (through `tracing`, at debug and trace level).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum DecodeLevel {
    /// Nothing beyond connection changes and errors.
    #[default]
    Nothing,
    /// Link and application headers.
    Headers,
    /// Headers and object headers.
    Objects,
    /// Headers, object headers and every value.
    Values,
}

/// Logs a fragment at the configured decode level.
pub(super) fn log_fragment(name: &str, dir: &str, bytes: &[u8], level: DecodeLevel) {
    let Ok(f) = Fragment::parse(bytes) else {
        tracing::debug!(channel = %name, "{dir} malformed fragment ({} octets)", bytes.len());
        return;
    };
    let c = f.control;
    match f.iin {
        Some(iin) => {
            tracing::debug!(channel = %name, "{dir} {} seq={} fir={} fin={} con={} uns={} iin={iin}", f.function, c.seq, c.fir, c.fin, c.con, c.uns)
        }
        None => {
            tracing::debug!(channel = %name, "{dir} {} seq={} fir={} fin={} con={} uns={}", f.function, c.seq, c.fir, c.fin, c.con, c.uns)
        }
    }
    if level < DecodeLevel::Objects {
        return;
    }
    for h in f.objects().flatten() {
        let (g, v) = h.variation.numbers();
        tracing::debug!(channel = %name, "{dir}   g{g}v{v} qualifier 0x{:02X} {:?}", h.qualifier, h.range);
        if level >= DecodeLevel::Values {
            for p in h.points() {
                tracing::trace!(channel = %name, "{dir}     {} {:?} flags={:?} time={:?}", p.index, p.value, p.flags, p.time);
            }
        }
    }
}

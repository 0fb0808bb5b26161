//! The `rdnp3 serve` config file: outstations, where each listens, its points and the scripts
//! that move them; checked into a [`Plan`] whose errors name the line and the key.

use crate::config_file::{self, ConfigError};
use rdnp3::stack::objects::{flags, DoubleBit, Variation};
use rdnp3::stack::outstation::{EventClass, PointConfig, PointType, Update};
use rdnp3::{TlsConfig, TlsVersion};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServeFile {
    /// Reactor threads (default 1).
    threads: Option<usize>,
    #[serde(default)]
    outstation: Vec<OutstationEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutstationEntry {
    name: Spanned<String>,
    listen: Option<SocketAddr>,
    tls: Option<TlsEntry>,
    serial: Option<String>,
    baud: Option<u32>,
    #[serde(default = "default_address")]
    address: u16,
    #[serde(default = "default_master")]
    master_address: u16,
    /// Unsolicited responses allowed when the master enables them (default true).
    unsolicited: Option<bool>,
    /// Events buffered per point type (default 1000).
    event_buffer: Option<u16>,
    #[serde(default)]
    point: Vec<PointEntry>,
    #[serde(default)]
    script: Vec<ScriptEntry>,
}

fn default_address() -> u16 {
    1024
}

fn default_master() -> u16 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsEntry {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// `ca` is the master's own certificate, pinned (default false: a CA chain).
    #[serde(default)]
    self_signed: bool,
    /// The name the master's certificate must be valid for.
    name: Option<String>,
    /// "1.2" (default) or "1.3".
    min_version: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PointEntry {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    index: u16,
    /// Points `index .. index + count` (default 1).
    count: Option<Spanned<u16>>,
    class: Option<Spanned<u8>>,
    deadband: Option<f64>,
    value: Option<Spanned<toml::Value>>,
    /// Initial flags (default ONLINE).
    flags: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptEntry {
    /// `random_walk`, `ramp` or `replay`.
    kind: Spanned<String>,
    #[serde(rename = "type")]
    point_type: Option<Spanned<String>>,
    index: Option<u16>,
    period_ms: Option<Spanned<u64>>,
    step: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    from: Option<f64>,
    to: Option<f64>,
    file: Option<Spanned<PathBuf>>,
    /// Start the replay again after its last row (default false).
    #[serde(default)]
    repeat: bool,
    /// Seed of a random walk (default: from the clock).
    seed: Option<u64>,
}

/// Where an outstation is reached.
pub enum Transport {
    /// TCP on this address.
    Tcp(SocketAddr),
    /// TLS on this address.
    Tls(SocketAddr, Box<TlsConfig>),
    /// This serial port at this speed.
    Serial(String, u32),
}

/// One simulated outstation, checked.
pub struct OutstationPlan {
    /// Its name in messages.
    pub name: String,
    /// Where it listens.
    pub transport: Transport,
    /// Its link address.
    pub address: u16,
    /// The master's link address.
    pub master_address: u16,
    /// Unsolicited responses allowed.
    pub unsolicited: bool,
    /// Events buffered per type.
    pub event_buffer: u16,
    /// Points: type, index, configuration.
    pub points: Vec<(PointType, u16, PointConfig)>,
    /// Initial values.
    pub initial: Vec<Update>,
    /// What moves the points.
    pub scripts: Vec<Script>,
}

/// How a script changes its points.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptKind {
    /// Every period, a random step in `[-step, step]`, kept within `[min, max]`.
    RandomWalk {
        /// Largest change per period.
        step: f64,
        /// Lowest value.
        min: f64,
        /// Highest value.
        max: f64,
        /// Seed of the steps.
        seed: u64,
    },
    /// From `from` towards `to` by `step` every period, then from `from` again.
    Ramp {
        /// First value.
        from: f64,
        /// Last value.
        to: f64,
        /// Change per period (its sign is taken from `to - from`).
        step: f64,
    },
    /// Rows of a CSV file at their own pace: (ms after the start, update).
    Replay {
        /// The rows, in time order.
        rows: Vec<(u64, Update)>,
        /// Start again after the last row.
        repeat: bool,
    },
}

/// A script and the point it moves (walks and ramps; replays name their points per row).
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// What it does.
    pub kind: ScriptKind,
    /// The point of a walk or ramp.
    pub point: Option<(PointType, u16)>,
    /// Period of a walk or ramp, in ms.
    pub period_ms: u64,
}

/// Everything `rdnp3 serve` runs.
pub struct Plan {
    /// Reactor threads.
    pub threads: usize,
    /// The outstations.
    pub outstations: Vec<OutstationPlan>,
}

/// The types scripts and points name, as the `master` example prints them.
pub fn point_type(name: &str) -> Option<PointType> {
    PointType::ALL.into_iter().find(|t| t.name() == name)
}

/// Reads and checks the file at `path`.
pub fn load(path: &Path) -> Result<Plan, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        message: format!("{name}: {e}"),
    })?;
    let file: ServeFile = config_file::parse(&name, &text)?;
    let at = |span: std::ops::Range<usize>, key: &str, what: String| {
        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
        ConfigError {
            message: format!("{name}:{line}: key `{key}`: {what}"),
        }
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut outstations = Vec::new();
    for o in file.outstation {
        outstations.push(outstation(o, base, &at)?);
    }
    if outstations.is_empty() {
        return Err(ConfigError {
            message: format!("{name}: no [[outstation]] to serve"),
        });
    }
    Ok(Plan {
        threads: file.threads.unwrap_or(1).max(1),
        outstations,
    })
}

type At<'a> = dyn Fn(std::ops::Range<usize>, &str, String) -> ConfigError + 'a;

fn outstation(o: OutstationEntry, base: &Path, at: &At<'_>) -> Result<OutstationPlan, ConfigError> {
    let span = o.name.span();
    let transport = match (o.listen, o.tls, o.serial) {
        (Some(addr), None, None) => Transport::Tcp(addr),
        (Some(addr), Some(tls), None) => Transport::Tls(addr, Box::new(tls_config(tls, base, at)?)),
        (None, None, Some(path)) => Transport::Serial(path, o.baud.unwrap_or(9600)),
        _ => {
            return Err(at(
                span,
                "name",
                format!(
                    "outstation {:?} needs either listen (with tls for TLS) or serial",
                    o.name.get_ref()
                ),
            ))
        }
    };
    let mut points = Vec::new();
    let mut initial = Vec::new();
    for p in o.point {
        add_points(p, &mut points, &mut initial, at)?;
    }
    let mut scripts = Vec::new();
    for s in o.script {
        scripts.push(script(s, &points, base, at)?);
    }
    Ok(OutstationPlan {
        name: o.name.into_inner(),
        transport,
        address: o.address,
        master_address: o.master_address,
        unsolicited: o.unsolicited.unwrap_or(true),
        event_buffer: o.event_buffer.unwrap_or(1000),
        points,
        initial,
        scripts,
    })
}

fn tls_config(t: TlsEntry, base: &Path, at: &At<'_>) -> Result<TlsConfig, ConfigError> {
    let (cert, key, ca) = (base.join(t.cert), base.join(t.key), base.join(t.ca));
    let mut tls = if t.self_signed {
        TlsConfig::self_signed(cert, key, ca)
    } else {
        TlsConfig::ca_chain(cert, key, ca)
    };
    if let Some(name) = t.name {
        tls = tls.with_peer_name(name);
    }
    if let Some(v) = t.min_version {
        match v.get_ref().as_str() {
            "1.2" => {}
            "1.3" => tls = tls.with_min_version(TlsVersion::V1_3),
            other => {
                return Err(at(
                    v.span(),
                    "min_version",
                    format!("unknown TLS version {other:?} (1.2 or 1.3)"),
                ))
            }
        }
    }
    Ok(tls)
}

fn add_points(
    p: PointEntry,
    points: &mut Vec<(PointType, u16, PointConfig)>,
    initial: &mut Vec<Update>,
    at: &At<'_>,
) -> Result<(), ConfigError> {
    let ty = point_type(p.kind.get_ref()).ok_or_else(|| {
        at(
            p.kind.span(),
            "type",
            format!(
                "unknown point type {:?} ({})",
                p.kind.get_ref(),
                type_names()
            ),
        )
    })?;
    let class = match p.class.as_ref().map(|c| (*c.get_ref(), c.span())) {
        None | Some((0, _)) => EventClass::None,
        Some((1, _)) => EventClass::Class1,
        Some((2, _)) => EventClass::Class2,
        Some((3, _)) => EventClass::Class3,
        Some((n, span)) => return Err(at(span, "class", format!("class {n} is not 0-3"))),
    };
    let mut config = PointConfig::new(class).with_initial_flags(p.flags.unwrap_or(flags::ONLINE));
    // Simulated analogs carry fractions: report them as floats (with time, for events).
    config = match ty {
        PointType::AnalogInput => config
            .with_static_variation(Variation::Group30Var5)
            .with_event_variation(Variation::Group32Var7),
        PointType::AnalogOutputStatus => config
            .with_static_variation(Variation::Group40Var3)
            .with_event_variation(Variation::Group42Var7),
        _ => config,
    };
    if let Some(d) = p.deadband {
        config = config.with_deadband(d);
    }
    let count = p.count.as_ref().map_or(1, |c| *c.get_ref());
    let last = u32::from(p.index) + u32::from(count);
    if count == 0 || last > 65536 {
        let span = p.count.map(|c| c.span()).unwrap_or(p.kind.span());
        return Err(at(
            span,
            "count",
            format!("indices {}+{count} do not fit 0-65535", p.index),
        ));
    }
    for index in u32::from(p.index)..last {
        let index = index as u16;
        points.push((ty, index, config));
        if let Some(v) = &p.value {
            let update = value_update(ty, index, v.get_ref()).ok_or_else(|| {
                at(
                    v.span(),
                    "value",
                    format!("{} is not a {ty} value", v.get_ref()),
                )
            })?;
            initial.push(update);
        }
    }
    Ok(())
}

fn type_names() -> String {
    let names: Vec<&str> = PointType::ALL
        .into_iter()
        .filter(|t| !t.name().ends_with("command-event"))
        .map(|t| t.name())
        .collect();
    names.join(", ")
}

/// The update that sets `index` of `ty` to a TOML value.
fn value_update(ty: PointType, index: u16, v: &toml::Value) -> Option<Update> {
    match v {
        toml::Value::Boolean(b) => bool_update(ty, index, *b),
        toml::Value::Integer(i) => number_update(ty, index, *i as f64),
        toml::Value::Float(f) => number_update(ty, index, *f),
        toml::Value::String(s) => text_update(ty, index, s),
        _ => None,
    }
}

fn bool_update(ty: PointType, index: u16, b: bool) -> Option<Update> {
    match ty {
        PointType::BinaryInput => Some(Update::binary(index, b)),
        PointType::BinaryOutputStatus => Some(Update::binary_output_status(index, b)),
        _ => None,
    }
}

/// The update that sets a numeric point; binaries take 0 and 1, double-bits 0-3.
pub fn number_update(ty: PointType, index: u16, x: f64) -> Option<Update> {
    let whole = x.fract() == 0.0;
    match ty {
        PointType::AnalogInput => Some(Update::analog(index, x)),
        PointType::AnalogOutputStatus => Some(Update::analog_output_status(index, x)),
        PointType::Counter if whole && (0.0..=f64::from(u32::MAX)).contains(&x) => {
            Some(Update::counter(index, x as u32))
        }
        PointType::FrozenCounter if whole && (0.0..=f64::from(u32::MAX)).contains(&x) => {
            Some(Update::frozen_counter(index, x as u32))
        }
        PointType::BinaryInput | PointType::BinaryOutputStatus if x == 0.0 || x == 1.0 => {
            bool_update(ty, index, x == 1.0)
        }
        PointType::DoubleBitInput if whole && (0.0..=3.0).contains(&x) => {
            Some(Update::double_bit(index, DoubleBit::from_bits(x as u8)))
        }
        _ => None,
    }
}

/// The update a text value gives: `true`/`false`, double-bit names, numbers, octet strings.
pub fn text_update(ty: PointType, index: u16, s: &str) -> Option<Update> {
    let s = s.trim();
    match ty {
        PointType::OctetString if s.len() <= 255 => Some(Update::octet_string(index, s.as_bytes())),
        PointType::DoubleBitInput => {
            let state = match s.to_ascii_lowercase().as_str() {
                "intermediate" => DoubleBit::Intermediate,
                "off" | "determined-off" => DoubleBit::DeterminedOff,
                "on" | "determined-on" => DoubleBit::DeterminedOn,
                "indeterminate" => DoubleBit::Indeterminate,
                other => return number_update(ty, index, other.parse().ok()?),
            };
            Some(Update::double_bit(index, state))
        }
        _ => match s {
            "true" => bool_update(ty, index, true),
            "false" => bool_update(ty, index, false),
            _ => number_update(ty, index, s.parse().ok()?),
        },
    }
}

fn script(
    s: ScriptEntry,
    points: &[(PointType, u16, PointConfig)],
    base: &Path,
    at: &At<'_>,
) -> Result<Script, ConfigError> {
    let span = s.kind.span();
    let missing = |key: &str| {
        at(
            span.clone(),
            key,
            format!("{} needs {key}", s.kind.get_ref()),
        )
    };
    if s.kind.get_ref() == "replay" {
        let file = s.file.as_ref().ok_or_else(|| missing("file"))?;
        let path = base.join(file.get_ref());
        let rows = super::replay::load(&path, points).map_err(|e| at(file.span(), "file", e))?;
        return Ok(Script {
            kind: ScriptKind::Replay {
                rows,
                repeat: s.repeat,
            },
            point: None,
            period_ms: 0,
        });
    }
    let ty_name = s.point_type.as_ref().ok_or_else(|| missing("type"))?;
    let ty = point_type(ty_name.get_ref())
        .filter(|t| number_update(*t, 0, 1.5).is_some())
        .ok_or_else(|| {
            at(
                ty_name.span(),
                "type",
                format!(
                    "{:?} is not an analog, counter or analog output type",
                    ty_name.get_ref()
                ),
            )
        })?;
    let index = s.index.ok_or_else(|| missing("index"))?;
    if !points.iter().any(|(t, i, _)| *t == ty && *i == index) {
        return Err(at(
            ty_name.span(),
            "index",
            format!("no {ty} point {index} is configured"),
        ));
    }
    let period = s.period_ms.as_ref().ok_or_else(|| missing("period_ms"))?;
    if *period.get_ref() == 0 {
        return Err(at(period.span(), "period_ms", "must be at least 1".into()));
    }
    let step = s.step.ok_or_else(|| missing("step"))?;
    let kind = match s.kind.get_ref().as_str() {
        "random_walk" => {
            let (min, max) = (s.min.unwrap_or(f64::MIN), s.max.unwrap_or(f64::MAX));
            if min > max {
                return Err(at(span, "min", format!("min {min} is above max {max}")));
            }
            ScriptKind::RandomWalk {
                step,
                min,
                max,
                seed: s.seed.unwrap_or_else(clock_seed),
            }
        }
        "ramp" => ScriptKind::Ramp {
            from: s.from.ok_or_else(|| missing("from"))?,
            to: s.to.ok_or_else(|| missing("to"))?,
            step,
        },
        other => {
            return Err(at(
                span,
                "kind",
                format!("unknown script {other:?} (random_walk, ramp, replay)"),
            ))
        }
    };
    Ok(Script {
        kind,
        point: Some((ty, index)),
        period_ms: *period.get_ref(),
    })
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}

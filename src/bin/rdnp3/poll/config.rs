//! The `rdnp3 poll` config file: a `[master]` table and one `[[outstation]]` table per
//! outstation, with optional `[outstation.tls]` and `[[outstation.command]]` tables. Unknown
//! keys are errors, so a typo never silently falls back to a default.
//!
//! ```toml
//! [master]
//! address = 1            # the master's link address (default 1)
//! threads = 0            # executor threads, 0: one per core (default 0)
//!
//! [[outstation]]
//! name = "rtu-1"                # unique; names the outputs and the metrics
//! connect = "127.0.0.1:20000"   # or: serial = "/dev/ttyUSB0", baud = 9600
//! address = 1024                # the outstation's link address (default 1024)
//! poll_ms = 1000                # class 1/2/3 poll period (default 1000; 0: none)
//! integrity_s = 3600            # integrity poll period (default 3600; 0: at start-up only)
//! response_timeout_ms = 5000    # (default 5000)
//! time_sync = "lan"             # "none" (default), "lan" or "non-lan", when asked (NEED_TIME)
//! unsolicited = [1, 2, 3]       # event classes to enable unsolicited (default: none)
//!
//! [outstation.tls]              # connect over TLS (mutual authentication)
//! cert = "master.pem"           # our certificate chain
//! key = "master.key"            # its private key
//! ca = "ca.pem"                 # the CA the outstation's chain must lead to, or:
//! # peer_cert = "rtu-1.pem"     # pin the outstation's own (self-signed) certificate
//! server_name = "rtu-1"         # name the certificate must be valid for (default: not checked)
//!
//! [[outstation]]                # an outstation that dials in to the `[listen]` endpoint
//! name = "rtu-2"
//! dial_in = true                # instead of `connect` or `serial`
//! address = 1025                # what its first frame's source address must be
//! # peer_ip = "10.1.2.3"        # required when binding by peer IP; else, when set, the only
//!                               # IP it may connect from
//!
//! [listen]                      # one dial-in endpoint for every `dial_in` outstation
//! address = "0.0.0.0:20000"
//! binding = "link-address"      # or "peer-ip" (default link-address)
//! policy = "replace"            # a second connection of an outstation: "replace" (default)
//!                               # the first, or "refuse" it
//! first_frame_timeout_ms = 10000 # (default 10000)
//! # tls = { cert = "master.pem", key = "master.key", ca = "ca.pem" }  # as [outstation.tls]
//!
//! [[outstation.command]]        # a control sent once online, or periodically with every_s
//! kind = "crob"                 # "crob" or "analog"
//! index = 0
//! op = "LATCH_ON"               # crob: LATCH_ON, LATCH_OFF, PULSE_ON, PULSE_OFF
//! # value = 12.5                # analog: the set-point (sent as g41v3, a 32-bit float)
//! mode = "select-before-operate" # or "direct-operate" (default select-before-operate)
//! every_s = 60                  # period (default: once, when the outstation first goes online)
//! ```

use rdnp3::stack::master::{AnalogOutput, Command, CommandMode};
use rdnp3::stack::objects::{Crob, OpType};
use rdnp3::{Classes, DialInBinding, EventClass, ServerPolicy, TimeSyncMode};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The whole file.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct PollConfig {
    /// Settings shared by every association.
    #[serde(default)]
    pub master: MasterSection,
    /// The outstations to poll.
    #[serde(default)]
    pub outstation: Vec<OutstationEntry>,
    /// The dial-in endpoint of the `dial_in` outstations.
    pub listen: Option<ListenSection>,
}

/// `[listen]`.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct ListenSection {
    /// The address to listen on.
    pub address: SocketAddr,
    /// How a connection is matched with its outstation.
    #[serde(default)]
    pub binding: Binding,
    /// What a second connection of a connected outstation does.
    #[serde(default)]
    pub policy: Policy,
    /// How long a new connection may take to send its first valid link frame (and, with
    /// TLS, to complete its handshake), in milliseconds.
    #[serde(default = "default_first_frame_timeout_ms")]
    pub first_frame_timeout_ms: u64,
    /// TLS settings: every outstation must complete a TLS handshake first.
    pub tls: Option<TlsSection>,
}

fn default_first_frame_timeout_ms() -> u64 {
    10_000
}

/// `binding`.
#[derive(Deserialize, Debug, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Binding {
    /// By the source address of the outstation's first link frame.
    #[default]
    LinkAddress,
    /// By the outstation's IP address (`peer_ip`).
    PeerIp,
}

impl Binding {
    /// The listener's setting.
    pub fn binding(self) -> DialInBinding {
        match self {
            Binding::LinkAddress => DialInBinding::LinkAddress,
            Binding::PeerIp => DialInBinding::PeerIp,
        }
    }
}

/// `policy`.
#[derive(Deserialize, Debug, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Close the existing connection and serve the new one.
    #[default]
    Replace,
    /// Keep the existing connection and refuse the new one.
    Refuse,
}

impl Policy {
    /// The listener's setting.
    pub fn policy(self) -> ServerPolicy {
        match self {
            Policy::Replace => ServerPolicy::CloseExisting,
            Policy::Refuse => ServerPolicy::RejectNew,
        }
    }
}

/// `[master]`.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, default)]
pub struct MasterSection {
    /// The master's link address.
    pub address: u16,
    /// Executor threads (0: one per core).
    pub threads: usize,
}

impl Default for MasterSection {
    fn default() -> Self {
        MasterSection {
            address: 1,
            threads: 0,
        }
    }
}

/// One `[[outstation]]`.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct OutstationEntry {
    /// Unique name: the `outstation` of every output line and metric.
    pub name: String,
    /// TCP (or TLS) address to connect to.
    pub connect: Option<SocketAddr>,
    /// Serial port to open instead.
    pub serial: Option<String>,
    /// The outstation dials in to the `[listen]` endpoint instead.
    #[serde(default)]
    pub dial_in: bool,
    /// Dial-in: the IP address the outstation connects from.
    pub peer_ip: Option<IpAddr>,
    /// Serial line speed (8N1, no flow control).
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// The outstation's link address.
    #[serde(default = "default_address")]
    pub address: u16,
    /// Class 1/2/3 event poll period in milliseconds (0: none).
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// Integrity poll period in seconds (0: only at start-up and after restarts).
    #[serde(default = "default_integrity_s")]
    pub integrity_s: u64,
    /// How long to wait for each response, in milliseconds.
    #[serde(default = "default_response_timeout_ms")]
    pub response_timeout_ms: u64,
    /// Time synchronisation when the outstation asks for it.
    #[serde(default)]
    pub time_sync: TimeSync,
    /// Event classes (1-3) to enable for unsolicited reporting after the integrity poll.
    #[serde(default)]
    pub unsolicited: Vec<u8>,
    /// TLS settings: connect over TLS.
    pub tls: Option<TlsSection>,
    /// Controls to send.
    #[serde(default)]
    pub command: Vec<CommandEntry>,
}

fn default_baud() -> u32 {
    9600
}
fn default_address() -> u16 {
    1024
}
fn default_poll_ms() -> u64 {
    1000
}
fn default_integrity_s() -> u64 {
    3600
}
fn default_response_timeout_ms() -> u64 {
    5000
}

/// `time_sync`.
#[derive(Deserialize, Debug, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TimeSync {
    /// Never synchronise.
    #[default]
    None,
    /// RECORD_CURRENT_TIME then WRITE (a LAN, where delays are small).
    Lan,
    /// DELAY_MEASURE then WRITE corrected by half the round trip.
    NonLan,
}

impl TimeSync {
    /// The association's setting.
    pub fn mode(self) -> Option<TimeSyncMode> {
        match self {
            TimeSync::None => None,
            TimeSync::Lan => Some(TimeSyncMode::Lan),
            TimeSync::NonLan => Some(TimeSyncMode::NonLan),
        }
    }
}

/// `[outstation.tls]`.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// Our certificate (then its chain), PEM.
    pub cert: PathBuf,
    /// Our private key, PEM.
    pub key: PathBuf,
    /// CA certificate(s) the outstation's chain must lead to, PEM.
    pub ca: Option<PathBuf>,
    /// The outstation's own certificate, pinned, PEM.
    pub peer_cert: Option<PathBuf>,
    /// The DNS name or IP address the outstation's certificate must be valid for.
    pub server_name: Option<String>,
}

/// One `[[outstation.command]]`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct CommandEntry {
    /// What to send.
    pub kind: CommandKind,
    /// Point index.
    pub index: u16,
    /// CROB operation.
    pub op: Option<CrobOp>,
    /// Pulse on time, milliseconds (pulses only; default 100).
    pub on_ms: Option<u32>,
    /// Pulse off time, milliseconds (pulses only; default 0).
    pub off_ms: Option<u32>,
    /// Analog set-point.
    pub value: Option<f32>,
    /// Select before operate, or direct operate.
    #[serde(default)]
    pub mode: Mode,
    /// Period in seconds; absent: once, when the outstation first goes online.
    pub every_s: Option<u64>,
}

/// `kind`.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CommandKind {
    /// A control relay output block (g12v1).
    Crob,
    /// An analog output (g41v3).
    Analog,
}

impl CommandKind {
    /// The name in output lines.
    pub fn name(self) -> &'static str {
        match self {
            CommandKind::Crob => "crob",
            CommandKind::Analog => "analog",
        }
    }
}

/// `op`.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub enum CrobOp {
    /// Latch on.
    #[serde(rename = "LATCH_ON")]
    LatchOn,
    /// Latch off.
    #[serde(rename = "LATCH_OFF")]
    LatchOff,
    /// Pulse on.
    #[serde(rename = "PULSE_ON")]
    PulseOn,
    /// Pulse off.
    #[serde(rename = "PULSE_OFF")]
    PulseOff,
}

/// `mode`.
#[derive(Deserialize, Debug, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// SELECT, then OPERATE.
    #[default]
    SelectBeforeOperate,
    /// DIRECT_OPERATE.
    DirectOperate,
}

impl CommandEntry {
    /// The control to send.
    pub fn command(&self) -> Command {
        match self.kind {
            CommandKind::Crob => {
                let (op, pulse) = match self.op.unwrap_or(CrobOp::LatchOn) {
                    CrobOp::LatchOn => (OpType::LatchOn, false),
                    CrobOp::LatchOff => (OpType::LatchOff, false),
                    CrobOp::PulseOn => (OpType::PulseOn, true),
                    CrobOp::PulseOff => (OpType::PulseOff, true),
                };
                let (on, off) = if pulse {
                    (self.on_ms.unwrap_or(100), self.off_ms.unwrap_or(0))
                } else {
                    (0, 0)
                };
                Command::Crob {
                    index: self.index,
                    crob: Crob::new(op, on, off),
                }
            }
            CommandKind::Analog => Command::Analog {
                index: self.index,
                value: AnalogOutput::F32(self.value.unwrap_or(0.0)),
            },
        }
    }

    /// How it is sent.
    pub fn mode(&self) -> CommandMode {
        match self.mode {
            Mode::SelectBeforeOperate => CommandMode::SelectBeforeOperate,
            Mode::DirectOperate => CommandMode::DirectOperate,
        }
    }

    /// The period, `None` for a one-shot command.
    pub fn period(&self) -> Option<Duration> {
        self.every_s.map(|s| Duration::from_secs(s.max(1)))
    }
}

impl OutstationEntry {
    /// The classes to enable unsolicited.
    pub fn unsolicited_classes(&self) -> Classes {
        let mut classes = Classes::NONE;
        for class in &self.unsolicited {
            classes = classes.union(Classes::from(match class {
                1 => EventClass::Class1,
                2 => EventClass::Class2,
                _ => EventClass::Class3,
            }));
        }
        classes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_file::parse;

    const SUBSET: &str = r#"
[master]
address = 1
threads = 0

[[outstation]]
name = "rtu-1"
connect = "127.0.0.1:20000"
address = 1024
poll_ms = 1000
integrity_s = 3600
"#;

    #[test]
    fn the_subset_of_the_issue_loads() {
        let c: PollConfig = parse("p.toml", SUBSET).unwrap();
        assert_eq!(c.master.address, 1);
        let o = &c.outstation[0];
        assert_eq!(o.name, "rtu-1");
        assert_eq!(o.address, 1024);
        assert_eq!(o.time_sync, TimeSync::None);
        assert!(o.tls.is_none() && o.command.is_empty());
    }

    #[test]
    fn tls_time_sync_unsolicited_and_commands_load() {
        let text = format!(
            "{SUBSET}time_sync = \"non-lan\"\nunsolicited = [1, 3]\n\
             [outstation.tls]\ncert = \"m.pem\"\nkey = \"m.key\"\nca = \"ca.pem\"\n\
             [[outstation.command]]\nkind = \"crob\"\nindex = 2\nop = \"PULSE_ON\"\nevery_s = 5\n\
             [[outstation.command]]\nkind = \"analog\"\nindex = 1\nvalue = 2.5\nmode = \"direct-operate\"\n"
        );
        let c: PollConfig = parse("p.toml", &text).unwrap();
        let o = &c.outstation[0];
        assert_eq!(o.time_sync.mode(), Some(TimeSyncMode::NonLan));
        assert_eq!(o.unsolicited_classes(), Classes::CLASS1 | Classes::CLASS3);
        assert_eq!(o.command.len(), 2);
        assert_eq!(o.command[0].period(), Some(Duration::from_secs(5)));
        assert_eq!(o.command[1].mode(), CommandMode::DirectOperate);
        assert!(o.tls.as_ref().unwrap().ca.is_some());
    }

    #[test]
    fn a_listen_table_and_dial_in_outstations_load() {
        let text = "[listen]\naddress = \"0.0.0.0:20000\"\nbinding = \"peer-ip\"\n\
                    policy = \"refuse\"\ntls = { cert = \"m.pem\", key = \"m.key\", ca = \"ca.pem\" }\n\
                    [[outstation]]\nname = \"rtu-2\"\ndial_in = true\npeer_ip = \"10.1.2.3\"\n";
        let c: PollConfig = parse("p.toml", text).unwrap();
        let listen = c.listen.unwrap();
        assert_eq!(listen.binding.binding(), DialInBinding::PeerIp);
        assert_eq!(listen.policy.policy(), ServerPolicy::RejectNew);
        assert_eq!(listen.first_frame_timeout_ms, 10_000);
        assert!(listen.tls.unwrap().ca.is_some());
        let o = &c.outstation[0];
        assert!(o.dial_in && o.connect.is_none());
        assert_eq!(o.peer_ip, Some("10.1.2.3".parse().unwrap()));
        let err = parse::<PollConfig>("p.toml", &text.replace("refuse", "reject")).unwrap_err();
        assert!(
            err.message.starts_with("p.toml:4: key `policy`: "),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_misspelt_key_names_its_line() {
        let text = SUBSET.replace("poll_ms", "pol_ms");
        let err = parse::<PollConfig>("p.toml", &text).unwrap_err();
        assert!(
            err.message.starts_with("p.toml:10: key `pol_ms`: "),
            "{}",
            err.message
        );
    }
}

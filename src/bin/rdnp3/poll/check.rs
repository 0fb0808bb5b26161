//! What the types of the poll config cannot say: one transport per outstation (dial-in ones
//! need the `[listen]` table, and a peer IP when it binds by IP), unique names (and dial-in
//! addresses and peer IPs), classes 1-3, complete commands and TLS settings. Each problem is reported like a parse
//! error, `FILE:LINE: key `KEY`: what is wrong`, with the line of the key (or, for a missing
//! key, of its table's header).

use super::config::{Binding, CommandKind, PollConfig};
use crate::config_file::key_of;
use std::collections::HashSet;

/// One problem: where (the outstation, and the command within it, or `None`: the `[listen]`
/// table) and which key.
#[derive(Debug, PartialEq, Eq)]
struct Problem {
    outstation: Option<usize>,
    command: Option<usize>,
    key: &'static str,
    what: String,
}

/// Checks `config`, read from `text` (named `file` in the message).
pub fn check(config: &PollConfig, file: &str, text: &str) -> Result<(), String> {
    if config.outstation.is_empty() {
        return Err(format!("{file}: no [[outstation]] to poll"));
    }
    let Some(p) = first_problem(config) else {
        return Ok(());
    };
    let line = match p.outstation {
        Some(outstation) => line_of(text, outstation, p.command, p.key),
        None => line_in_listen(text, p.key),
    };
    Err(match line {
        Some(line) => format!("{file}:{line}: key `{}`: {}", p.key, p.what),
        None => format!("{file}: key `{}`: {}", p.key, p.what),
    })
}

fn first_problem(config: &PollConfig) -> Option<Problem> {
    let problem = |outstation, key, what: &str| Problem {
        outstation: Some(outstation),
        command: None,
        key,
        what: what.to_string(),
    };
    if let Some(tls) = config.listen.as_ref().and_then(|l| l.tls.as_ref()) {
        if tls.ca.is_some() == tls.peer_cert.is_some() {
            return Some(Problem {
                outstation: None,
                command: None,
                key: "listen.tls",
                what: "set one of `ca` and `peer_cert`".into(),
            });
        }
    }
    let by_ip = config
        .listen
        .as_ref()
        .is_some_and(|l| l.binding == Binding::PeerIp);
    let mut names = HashSet::new();
    let (mut addresses, mut ips) = (HashSet::new(), HashSet::new());
    for (i, o) in config.outstation.iter().enumerate() {
        if !names.insert(o.name.as_str()) {
            return Some(problem(i, "name", "used by another outstation"));
        }
        if o.dial_in {
            if o.connect.is_some() || o.serial.is_some() {
                let what = "`connect` or `serial` is set too; set only one";
                return Some(problem(i, "dial_in", what));
            }
            if config.listen.is_none() {
                let what = "needs a [listen] table to dial in to";
                return Some(problem(i, "dial_in", what));
            }
            if o.tls.is_some() {
                let what = "dial-in outstations use the TLS settings of [listen]";
                return Some(problem(i, "outstation.tls", what));
            }
            if by_ip && o.peer_ip.is_none() {
                let what = "missing ([listen] binds outstations by peer IP)";
                return Some(problem(i, "peer_ip", what));
            }
            if !addresses.insert(o.address) {
                let what = "used by another dial-in outstation";
                return Some(problem(i, "address", what));
            }
            if let Some(ip) = o.peer_ip {
                if by_ip && !ips.insert(ip.to_canonical()) {
                    let what = "used by another dial-in outstation";
                    return Some(problem(i, "peer_ip", what));
                }
            }
        } else if o.peer_ip.is_some() {
            return Some(problem(i, "peer_ip", "only for `dial_in = true`"));
        }
        match (&o.connect, &o.serial) {
            (Some(_), Some(_)) => {
                return Some(problem(i, "serial", "`connect` is set too; set only one"))
            }
            (None, None) if !o.dial_in => {
                let what = "missing (or set `serial`, or `dial_in = true`)";
                return Some(problem(i, "connect", what));
            }
            _ => {}
        }
        if o.serial.is_some() && o.tls.is_some() {
            return Some(problem(
                i,
                "outstation.tls",
                "TLS needs `connect`, not `serial`",
            ));
        }
        if let Some(c) = o.unsolicited.iter().find(|c| !(1..=3).contains(*c)) {
            let what = format!("class {c} is not 1, 2 or 3");
            return Some(problem(i, "unsolicited", &what));
        }
        if let Some(tls) = &o.tls {
            if tls.ca.is_some() == tls.peer_cert.is_some() {
                let what = "set one of `ca` and `peer_cert`";
                return Some(problem(i, "outstation.tls", what));
            }
        }
        for (j, c) in o.command.iter().enumerate() {
            let missing = match c.kind {
                CommandKind::Crob if c.op.is_none() => "op",
                CommandKind::Analog if c.value.is_none() => "value",
                _ => continue,
            };
            return Some(Problem {
                outstation: Some(i),
                command: Some(j),
                key: missing,
                what: format!("missing (commands of kind `{}` need it)", c.kind.name()),
            });
        }
    }
    None
}

/// The line (1-based) that sets `key` in the `outstation`-th `[[outstation]]` table (or in
/// its `command`-th `[[outstation.command]]`), or of that table's header when the key is not
/// set there; a key naming a table (`outstation.tls`) finds its header.
fn line_of(text: &str, outstation: usize, command: Option<usize>, key: &str) -> Option<usize> {
    let (mut o, mut c): (Option<usize>, Option<usize>) = (None, None);
    let mut table = "";
    let mut header = None;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            table = key_of(trimmed).unwrap_or("");
            match table {
                "outstation" => {
                    o = Some(o.map_or(0, |x| x + 1));
                    c = None;
                }
                "outstation.command" => c = Some(c.map_or(0, |x| x + 1)),
                _ => {}
            }
            if o != Some(outstation) {
                continue;
            }
            if table == key {
                return Some(line_no);
            }
            let target = if command.is_some() {
                "outstation.command"
            } else {
                "outstation"
            };
            if table == target && c == command {
                header = Some(line_no);
            }
            continue;
        }
        let in_target = match command {
            None => table == "outstation",
            Some(_) => table == "outstation.command" && c == command,
        };
        if o == Some(outstation) && in_target && key_of(trimmed) == Some(key) {
            return Some(line_no);
        }
    }
    header
}

/// The line that sets `key` in the `[listen]` table, or of its header; `listen.tls` finds
/// the `[listen.tls]` header or the `tls = { ... }` line.
fn line_in_listen(text: &str, key: &str) -> Option<usize> {
    let mut table = "";
    let mut header = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            table = key_of(trimmed).unwrap_or("");
            if table == key {
                return Some(n + 1);
            }
            if table == "listen" {
                header = Some(n + 1);
            }
            continue;
        }
        let Some(found) = key_of(trimmed) else {
            continue;
        };
        if table == "listen" && (found == key || key.strip_prefix("listen.") == Some(found)) {
            return Some(n + 1);
        }
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_file::parse;

    const TWO: &str = "\
[master]
address = 1

[[outstation]]
name = \"a\"
connect = \"127.0.0.1:20000\"

[[outstation]]
name = \"b\"
connect = \"127.0.0.1:20001\"
unsolicited = [1]
";

    fn check_text(text: &str) -> Result<(), String> {
        let config: PollConfig = parse("p.toml", text).unwrap();
        check(&config, "p.toml", text)
    }

    #[test]
    fn a_valid_config_passes() {
        check_text(TWO).unwrap();
    }

    #[test]
    fn a_repeated_name_points_at_its_second_use() {
        let err = check_text(&TWO.replace("\"b\"", "\"a\"")).unwrap_err();
        assert_eq!(err, "p.toml:9: key `name`: used by another outstation");
    }

    #[test]
    fn two_transports_or_none_point_at_the_outstation() {
        let text = format!("{TWO}serial = \"/dev/ttyS0\"\n");
        let err = check_text(&text).unwrap_err();
        assert_eq!(
            err,
            "p.toml:12: key `serial`: `connect` is set too; set only one"
        );
        let text = TWO.replace("connect = \"127.0.0.1:20001\"\n", "");
        let err = check_text(&text).unwrap_err();
        assert_eq!(
            err,
            "p.toml:8: key `connect`: missing (or set `serial`, or `dial_in = true`)"
        );
    }

    #[test]
    fn a_bad_class_and_an_incomplete_command_name_their_lines() {
        let err = check_text(&TWO.replace("[1]", "[1, 4]")).unwrap_err();
        assert_eq!(
            err,
            "p.toml:11: key `unsolicited`: class 4 is not 1, 2 or 3"
        );
        let text = format!(
            "{TWO}[[outstation.command]]\nkind = \"crob\"\nindex = 0\nop = \"LATCH_ON\"\n\
             [[outstation.command]]\nkind = \"analog\"\nindex = 1\n"
        );
        let err = check_text(&text).unwrap_err();
        assert_eq!(
            err,
            "p.toml:16: key `value`: missing (commands of kind `analog` need it)"
        );
    }

    #[test]
    fn tls_without_a_peer_check_points_at_its_table() {
        let text = format!("{TWO}[outstation.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n");
        let err = check_text(&text).unwrap_err();
        assert_eq!(
            err,
            "p.toml:12: key `outstation.tls`: set one of `ca` and `peer_cert`"
        );
    }

    const DIAL_IN: &str = "\
[[outstation]]
name = \"a\"
connect = \"127.0.0.1:20000\"

[[outstation]]
name = \"b\"
dial_in = true
address = 7
";

    #[test]
    fn dial_in_without_a_listen_table_names_its_line() {
        let err = check_text(DIAL_IN).unwrap_err();
        assert_eq!(
            err,
            "p.toml:7: key `dial_in`: needs a [listen] table to dial in to"
        );
        let text = format!("[listen]\naddress = \"127.0.0.1:20000\"\n{DIAL_IN}");
        check_text(&text).unwrap();
    }

    #[test]
    fn binding_by_peer_ip_needs_each_dial_in_outstation_to_name_one() {
        let text =
            format!("[listen]\naddress = \"127.0.0.1:20000\"\nbinding = \"peer-ip\"\n{DIAL_IN}");
        let err = check_text(&text).unwrap_err();
        assert_eq!(
            err,
            "p.toml:8: key `peer_ip`: missing ([listen] binds outstations by peer IP)"
        );
        check_text(&format!("{text}peer_ip = \"10.0.0.7\"\n")).unwrap();
        let err =
            check_text(&DIAL_IN.replace("connect", "peer_ip").replace(":20000", "")).unwrap_err();
        assert_eq!(err, "p.toml:3: key `peer_ip`: only for `dial_in = true`");
    }

    #[test]
    fn two_dial_in_outstations_with_one_address_and_bad_listen_tls_are_refused() {
        let text = format!(
            "[listen]\naddress = \"127.0.0.1:20000\"\n{DIAL_IN}\n\
             [[outstation]]\nname = \"c\"\ndial_in = true\naddress = 7\n"
        );
        let err = check_text(&text).unwrap_err();
        assert_eq!(
            err,
            "p.toml:15: key `address`: used by another dial-in outstation"
        );
        let text = format!(
            "[listen]\naddress = \"127.0.0.1:20000\"\ntls = {{ cert = \"c\", key = \"k\" }}\n{DIAL_IN}"
        );
        let err = check_text(&text).unwrap_err();
        assert_eq!(
            err,
            "p.toml:3: key `listen.tls`: set one of `ca` and `peer_cert`"
        );
    }
}

//! The `serde` feature: every config type survives a round trip through JSON (and TOML, the
//! CLI's format), durations read as milliseconds or with a unit, and unknown keys are refused.
#![cfg(feature = "serde")]

use rdnp3::stack::objects::Variation;
use rdnp3::stack::outstation::{EventBufferConfig, PointConfig};
use rdnp3::{
    ChannelConfig, ClassAssignment, Classes, DecodeLevel, DeviceAttributes, DialInBinding,
    EventClass, ListenerConfig, MasterConfig, OutstationConfig, PeerAuthentication, PointRange,
    SerialSettings, ServerPolicy, StopBits, TimeSyncMode, TlsConfig, TlsVersion,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use std::time::Duration;

fn json_round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) -> String {
    let text = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(&back, value, "{text}");
    text
}

fn master_config() -> MasterConfig {
    MasterConfig::default()
        .with_local_address(3)
        .with_outstation_address(77)
        .with_response_timeout(Duration::from_millis(2500))
        .with_time_sync(Some(TimeSyncMode::NonLan))
        .with_unsolicited_classes(Classes::CLASS1 | Classes::CLASS3)
        .with_event_scan(Classes::EVENTS)
        .with_startup_assign_class(vec![ClassAssignment::new(
            EventClass::Class2,
            vec![
                (Variation::Group30Var0, PointRange::All),
                (
                    Variation::Group1Var0,
                    PointRange::Range { start: 2, stop: 5 },
                ),
            ],
        )])
}

fn channel_config() -> ChannelConfig {
    ChannelConfig::named("rtu-7")
        .with_keep_alive(None)
        .with_min_retry(Duration::from_millis(250))
        .with_decode(DecodeLevel::Objects)
        .with_allow_list(Some(vec!["10.0.0.1".parse().unwrap()]))
        .with_server_policy(ServerPolicy::RejectNew)
}

#[test]
fn a_master_config_survives_a_json_round_trip_in_readable_form() {
    let text = json_round_trip(&master_config());
    assert!(text.contains(r#""response_timeout":2500"#), "{text}");
    assert!(text.contains(r#""time_sync":"non-lan""#), "{text}");
    assert!(text.contains(r#""unsolicited_classes":[1,3]"#), "{text}");
    assert!(text.contains(r#"["g30v0","all"]"#), "{text}");
    json_round_trip(&MasterConfig::default());
}

#[test]
fn channel_tls_and_serial_settings_survive_a_json_round_trip() {
    let text = json_round_trip(&channel_config());
    assert!(
        text.contains(r#""keep_alive":0"#),
        "no keep-alive is 0: {text}"
    );
    json_round_trip(&ChannelConfig::default());
    let tls = TlsConfig::self_signed("m.pem", "m.key", "peer.pem")
        .with_peer_name("rtu-7")
        .with_min_version(TlsVersion::V1_3);
    let text = json_round_trip(&tls);
    assert!(text.contains(r#""min_version":"1.3""#), "{text}");
    let serial = SerialSettings::new("/dev/ttyUSB0", 19200).with_stop_bits(StopBits::Two);
    json_round_trip(&serial);
}

#[test]
fn an_outstation_config_survives_a_json_round_trip() {
    let config = OutstationConfig::default()
        .with_local_address(10)
        .with_select_timeout(Duration::from_secs(3))
        .with_unsolicited_retries(Some(4))
        .with_event_buffer(EventBufferConfig::all(50))
        .with_device_attributes(DeviceAttributes::default().with_vendor_name("rdnp3".into()));
    json_round_trip(&config);
    let point = PointConfig::new(EventClass::Class1)
        .with_static_variation(Variation::Group30Var5)
        .with_deadband(0.5);
    let text = json_round_trip(&point);
    assert!(text.contains(r#""class":"class1""#), "{text}");
}

#[test]
fn a_listener_config_survives_a_json_round_trip_in_readable_form() {
    let config = ListenerConfig::default()
        .with_name("cellular".into())
        .with_binding(DialInBinding::PeerIp)
        .with_policy(ServerPolicy::RejectNew)
        .with_max_pending(16)
        .with_first_frame_timeout(Duration::from_millis(1500))
        .with_channel(channel_config());
    let text = json_round_trip(&config);
    assert!(text.contains(r#""binding":"peer-ip""#), "{text}");
    assert!(text.contains(r#""policy":"reject-new""#), "{text}");
    assert!(text.contains(r#""first_frame_timeout":1500"#), "{text}");
    json_round_trip(&ListenerConfig::default());
    let partial: ListenerConfig =
        serde_json::from_str(r#"{"binding": "link-address", "first_frame_timeout": "2s"}"#)
            .unwrap();
    assert_eq!(
        partial,
        ListenerConfig::default().with_first_frame_timeout(Duration::from_secs(2))
    );
    let err = serde_json::from_str::<ListenerConfig>(r#"{"bindng": "peer-ip"}"#).unwrap_err();
    assert!(err.to_string().contains("bindng"), "{err}");
}

#[test]
fn a_partial_file_keeps_the_defaults_and_reads_durations_with_units() {
    let config: MasterConfig =
        serde_json::from_str(r#"{"outstation_address": 9, "response_timeout": "3s"}"#).unwrap();
    assert_eq!(
        config,
        MasterConfig::default()
            .with_outstation_address(9)
            .with_response_timeout(Duration::from_secs(3))
    );
    let channel: ChannelConfig = serde_json::from_str(r#"{"max_retry": "2m"}"#).unwrap();
    assert_eq!(channel.max_retry, Duration::from_secs(120));
    assert_eq!(channel.keep_alive, ChannelConfig::default().keep_alive);
}

#[test]
fn unknown_keys_bad_durations_and_unknown_variations_are_refused() {
    let err = serde_json::from_str::<MasterConfig>(r#"{"outstation_adress": 9}"#).unwrap_err();
    assert!(err.to_string().contains("outstation_adress"), "{err}");
    assert!(serde_json::from_str::<MasterConfig>(r#"{"response_timeout": "3 days"}"#).is_err());
    assert!(serde_json::from_str::<MasterConfig>(r#"{"response_timeout": -1}"#).is_err());
    assert!(serde_json::from_str::<Variation>(r#""g99v99""#).is_err());
    assert!(serde_json::from_str::<Classes>("[4]").is_err());
    let peer: PeerAuthentication = serde_json::from_str(r#"{"ca-chain":"ca.pem"}"#).unwrap();
    assert_eq!(peer, PeerAuthentication::CaChain("ca.pem".into()));
}

/// TOML is what the CLI reads (its parser comes with the `cli` feature).
#[cfg(feature = "cli")]
#[test]
fn master_and_channel_configs_survive_a_toml_round_trip() {
    let master = master_config();
    let text = toml::to_string(&master).unwrap();
    assert_eq!(
        toml::from_str::<MasterConfig>(&text).unwrap(),
        master,
        "{text}"
    );
    let channel = channel_config();
    let text = toml::to_string(&channel).unwrap();
    assert_eq!(
        toml::from_str::<ChannelConfig>(&text).unwrap(),
        channel,
        "{text}"
    );
    let hand_written: ChannelConfig =
        toml::from_str("name = \"rtu-1\"\nkeep_alive = \"30s\"\nserver_policy = \"reject-new\"\n")
            .unwrap();
    assert_eq!(hand_written.keep_alive, Some(Duration::from_secs(30)));
    assert_eq!(hand_written.server_policy, ServerPolicy::RejectNew);
}

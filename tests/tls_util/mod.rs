//! Helpers shared by the TLS end-to-end tests (`tls.rs`, `tls_failures.rs`): an observer of
//! a channel's states and TLS errors, a TLS server channel carrying the demo outstation, a TLS
//! client channel carrying a master association, the check that the master polls, and a CA
//! with outstation and master certificates.

#![allow(dead_code)]

use crate::util::*;
use rdnp3::stack::master::MasterConfig;
use rdnp3::stack::outstation::{DefaultApplication, MirrorOutputs};
use rdnp3::{Channel, ChannelListener, ChannelState, Manager, TlsConfig, TlsError};
use rdnp3_testkit::pki::{Ca, Identity, Pki, Validity};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

pub fn with_ca(id: &Identity, ca: &Path) -> TlsConfig {
    TlsConfig::ca_chain(&id.cert, &id.key, ca)
}

/// Records a channel's states and TLS errors.
#[derive(Clone, Default)]
pub struct Observer(pub Arc<Mutex<(Vec<ChannelState>, Vec<TlsError>)>>);

impl ChannelListener for Observer {
    fn on_state(&mut self, state: ChannelState) {
        lock(&self.0).0.push(state);
    }

    fn on_tls_error(&mut self, error: &TlsError) {
        lock(&self.0).1.push(error.clone());
    }
}

impl Observer {
    pub fn listener(&self) -> Option<Box<dyn ChannelListener>> {
        Some(Box::new(self.clone()))
    }

    pub fn states(&self) -> Vec<ChannelState> {
        lock(&self.0).0.clone()
    }

    pub fn errors(&self) -> Vec<TlsError> {
        lock(&self.0).1.clone()
    }

    /// Waits for a first TLS error and returns it.
    pub fn first_error(&self, side: &str) -> TlsError {
        wait_until(
            &format!("a TLS error on the {side}"),
            || self.errors(),
            |e| !e.is_empty(),
        )
        .remove(0)
    }
}

/// A TLS server channel carrying the demo outstation.
pub struct TlsStation {
    pub address: SocketAddr,
    pub channel: Channel,
    pub outstation: rdnp3::Outstation,
    pub observer: Observer,
}

pub fn start_tls_outstation(manager: &Manager, address: SocketAddr, tls: TlsConfig) -> TlsStation {
    let observer = Observer::default();
    let channel = manager
        .add_tls_server(
            channel_config("outstation"),
            address,
            tls,
            observer.listener(),
        )
        .expect("TLS server channel");
    let outstation = channel
        .add_outstation(
            outstation_config(1024),
            demo_database(0),
            Box::new(MirrorOutputs),
            Box::new(DefaultApplication),
        )
        .expect("outstation added");
    TlsStation {
        address,
        channel,
        outstation,
        observer,
    }
}

/// A TLS client channel carrying a master association.
pub struct TlsMaster {
    pub channel: Channel,
    pub master: rdnp3::Master,
    pub recorder: Recorder,
    pub observer: Observer,
}

pub fn start_tls_master(manager: &Manager, address: SocketAddr, tls: TlsConfig) -> TlsMaster {
    let observer = Observer::default();
    let recorder = Recorder::default();
    let channel = manager
        .add_tls_client(channel_config("master"), address, tls, observer.listener())
        .expect("TLS client channel");
    let master = channel
        .add_master(MasterConfig::default(), recorder.handler())
        .expect("master added");
    TlsMaster {
        channel,
        master,
        recorder,
        observer,
    }
}

/// The master completes its start-up (integrity poll included) over TLS and sees the
/// outstation's whole database.
pub fn assert_master_polls(station: &TlsStation, client: &TlsMaster) {
    wait_startup(&client.master);
    let statics = client.recorder.statics();
    assert!(!statics.is_empty(), "the integrity poll returned points");
    assert!(station.channel.stats().fragments_rx >= 3);
    assert!(client.channel.stats().fragments_rx >= 3);
    assert!(client.states().contains(&ChannelState::Open));
    assert!(
        station.observer.errors().is_empty(),
        "{:?}",
        station.observer.errors()
    );
    assert!(
        client.observer.errors().is_empty(),
        "{:?}",
        client.observer.errors()
    );
}

impl TlsMaster {
    pub fn states(&self) -> Vec<ChannelState> {
        self.observer.states()
    }
}

/// A CA, an outstation certificate for `outstation.test` and a master certificate.
pub fn ca_pair(pki: &Pki) -> (Ca, Identity, Identity) {
    let ca = pki.ca("ca");
    let outstation = pki.issue(&ca, "outstation", &["outstation.test"], Validity::Now);
    let master = pki.issue(&ca, "master", &["master.test"], Validity::Now);
    (ca, outstation, master)
}

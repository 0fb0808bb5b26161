//! Reactor ping-pong over loopback: a 20-byte request answered by a 30-byte response, on one
//! connection and on 1 000 connections kept busy at once, for each backend, against plain
//! blocking `std::net` on one connection. Criterion measures the time per request; a final
//! pass prints requests/s and process CPU-µs per request (user + system, from
//! `/proc/self/stat`) for each configuration.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use rdnp3_reactor::{completion, Actor, Backend, Completion, Context, Pool, Promise, SourceId};
use rdnp3_testkit::backends::each_backend;
use rdnp3_testkit::process::cpu_time;

const REQUEST: usize = 20;
const RESPONSE: usize = 30;

/// Listens and starts a responder actor per connection.
struct Server {
    ready: Option<Promise<SocketAddr>>,
}

impl Actor for Server {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        let addr = "127.0.0.1:0".parse().expect("address");
        match cx.listen(addr) {
            Ok((_, local)) => {
                if let Some(ready) = self.ready.take() {
                    ready.complete(local);
                }
            }
            Err(e) => panic!("listen: {e}"),
        }
    }

    fn on_accept(
        &mut self,
        cx: &mut Context<'_, ()>,
        _: SourceId,
        stream: TcpStream,
        _: SocketAddr,
    ) {
        let _ = cx.spawn(Responder {
            stream: Some(stream),
            pending: 0,
        });
    }
}

/// Answers every 20 bytes received with 30 bytes.
struct Responder {
    stream: Option<TcpStream>,
    pending: usize,
}

impl Actor for Responder {
    type Message = ();

    fn on_start(&mut self, cx: &mut Context<'_, ()>) {
        if let Some(stream) = self.stream.take() {
            if cx.adopt_tcp(stream).is_err() {
                cx.stop();
            }
        }
    }

    fn on_data(&mut self, cx: &mut Context<'_, ()>, source: SourceId, data: &[u8]) {
        self.pending += data.len();
        while self.pending >= REQUEST {
            self.pending -= REQUEST;
            if cx.send(source, &[0xA5; RESPONSE]).is_err() {
                cx.stop();
                return;
            }
        }
    }
}

/// Sends a request, waits for the whole response, repeats `left` times, then reports.
struct Client {
    addr: SocketAddr,
    conn: Option<SourceId>,
    connected: Option<Promise<()>>,
    received: usize,
    left: u64,
    done: Option<Promise<()>>,
}

impl Actor for Client {
    type Message = (u64, Promise<()>);

    fn on_start(&mut self, cx: &mut Context<'_, Self::Message>) {
        let _ = cx.connect(self.addr, Duration::from_secs(30));
    }

    fn on_connect(
        &mut self,
        _: &mut Context<'_, Self::Message>,
        source: SourceId,
        result: std::io::Result<()>,
    ) {
        if result.is_ok() {
            self.conn = Some(source);
            if let Some(connected) = self.connected.take() {
                connected.complete(());
            }
        }
    }

    fn on_message(&mut self, cx: &mut Context<'_, Self::Message>, (count, done): Self::Message) {
        let Some(conn) = self.conn else { return };
        self.left = count;
        self.done = Some(done);
        let _ = cx.send(conn, &[0x5A; REQUEST]);
    }

    fn on_data(&mut self, cx: &mut Context<'_, Self::Message>, source: SourceId, data: &[u8]) {
        self.received += data.len();
        while self.received >= RESPONSE {
            self.received -= RESPONSE;
            self.left = self.left.saturating_sub(1);
            if self.left == 0 {
                if let Some(done) = self.done.take() {
                    done.complete(());
                }
            } else {
                let _ = cx.send(source, &[0x5A; REQUEST]);
            }
        }
    }
}

/// A pool with a server and `connections` connected clients, ready to run requests.
struct ReactorRig {
    /// Kept alive for as long as the rig is used; dropping it shuts the executors down.
    _pool: Pool,
    clients: Vec<rdnp3_reactor::Handle<(u64, Promise<()>)>>,
}

impl ReactorRig {
    fn new(backend: Backend, connections: usize) -> Self {
        let pool = Pool::builder().backend(backend).build().expect("pool");
        let (ready, addr) = completion();
        pool.spawn(Server { ready: Some(ready) })
            .expect("spawn server");
        let addr = addr.wait().expect("server address");
        let mut clients = Vec::with_capacity(connections);
        let mut waits = Vec::with_capacity(connections);
        for _ in 0..connections {
            let (connected, is_connected) = completion();
            let client = Client {
                addr,
                conn: None,
                connected: Some(connected),
                received: 0,
                left: 0,
                done: None,
            };
            clients.push(pool.spawn(client).expect("spawn client"));
            waits.push(is_connected);
        }
        for wait in waits {
            wait.wait().expect("client connects");
        }
        ReactorRig {
            _pool: pool,
            clients,
        }
    }

    /// Runs at least `requests` round trips spread over every connection; returns how many.
    fn run(&self, requests: u64) -> u64 {
        let per = requests.div_ceil(self.clients.len() as u64).max(1);
        let waits: Vec<Completion<()>> = self
            .clients
            .iter()
            .map(|client| {
                let (done, wait) = completion();
                client.post((per, done)).expect("post");
                wait
            })
            .collect();
        for wait in waits {
            wait.wait().expect("requests complete");
        }
        per * self.clients.len() as u64
    }
}

/// Blocking `std::net` on one connection: a responder thread and the caller as client.
struct StdRig {
    stream: TcpStream,
}

impl StdRig {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let _ = conn.set_nodelay(true);
            let mut request = [0u8; REQUEST];
            while conn.read_exact(&mut request).is_ok() {
                if conn.write_all(&[0xA5; RESPONSE]).is_err() {
                    return;
                }
            }
        });
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        StdRig { stream }
    }

    fn run(&mut self, requests: u64) -> u64 {
        let mut response = [0u8; RESPONSE];
        for _ in 0..requests {
            self.stream.write_all(&[0x5A; REQUEST]).expect("write");
            self.stream.read_exact(&mut response).expect("read");
        }
        requests
    }
}

enum Rig {
    Reactor(ReactorRig),
    Std(StdRig),
}

impl Rig {
    fn run(&mut self, requests: u64) -> u64 {
        match self {
            Rig::Reactor(rig) => rig.run(requests),
            Rig::Std(rig) => rig.run(requests),
        }
    }
}

fn configurations() -> Vec<(String, Box<dyn Fn() -> Rig>)> {
    let mut list: Vec<(String, Box<dyn Fn() -> Rig>)> = Vec::new();
    each_backend(|backend| {
        for connections in [1usize, 1000] {
            list.push((
                format!("{backend}/{connections}conn"),
                Box::new(move || Rig::Reactor(ReactorRig::new(backend, connections))),
            ));
        }
    });
    list.push((
        "std-blocking/1conn".to_string(),
        Box::new(|| Rig::Std(StdRig::new())),
    ));
    list
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("reactor/ping-pong-20B-30B");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, make) in configurations() {
        let mut rig = make();
        group.bench_function(BenchmarkId::from_parameter(&name), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                let done = rig.run(iters);
                // Criterion divides by `iters`; scale when the spread over connections rounded up.
                start.elapsed().mul_f64(iters as f64 / done as f64)
            })
        });
    }
    group.finish();
}

/// Prints requests/s and CPU-µs per request, each configuration run for about two seconds.
fn figures() {
    println!(
        "\n{:<24} {:>14} {:>18}",
        "configuration", "requests/s", "CPU-µs/request"
    );
    for (name, make) in configurations() {
        let mut rig = make();
        rig.run(2_000);
        let mut batch = 2_000u64;
        let (start, cpu_start) = (Instant::now(), cpu_time());
        let mut requests = 0;
        while start.elapsed() < Duration::from_secs(2) {
            requests += rig.run(batch);
            batch = (batch * 2).min(200_000);
        }
        let (wall, cpu) = (start.elapsed(), cpu_time().saturating_sub(cpu_start));
        let rate = requests as f64 / wall.as_secs_f64();
        let cpu_us = cpu.as_secs_f64() * 1e6 / requests as f64;
        println!("{name:<24} {rate:>14.0} {cpu_us:>18.2}");
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    figures();
}

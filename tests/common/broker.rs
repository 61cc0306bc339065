//! A real Mosquitto broker for tests, on an ephemeral port, with persistence so a restart
//! keeps sessions. Ready means a client got a CONNACK, not that a port accepted a TCP
//! connection.

use rumqttc::{AsyncClient, Event, MqttOptions, Packet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Optional broker features.
#[derive(Default, Clone)]
pub struct BrokerOptions {
    /// Require this user and password.
    pub credentials: Option<(String, String)>,
    /// Serve TLS with certificates made in the broker's directory.
    pub tls: bool,
}

/// A running mosquitto.
pub struct Broker {
    child: Option<Child>,
    /// The port it listens on.
    pub port: u16,
    dir: PathBuf,
    conf: PathBuf,
    options: BrokerOptions,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Broker {
    /// Starts a broker with its own directory under `dir`.
    pub async fn start(dir: &Path, options: BrokerOptions) -> Broker {
        let dir = dir.join(format!("broker-{}", free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        // Started as root, mosquitto drops to its own user: let it write its persistence.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = free_port();
        let mut conf = format!(
            "listener {port} 127.0.0.1\npersistence true\npersistence_location {}/\nautosave_interval 1\n\
             max_queued_messages 200000\nmax_inflight_messages 100\nlog_dest stderr\nlog_type error\n",
            dir.display()
        );
        match &options.credentials {
            Some((user, password)) => {
                let file = dir.join("passwd");
                run(Command::new("mosquitto_passwd")
                    .args(["-b", "-c"])
                    .arg(&file)
                    .args([user, password]));
                conf.push_str(&format!(
                    "allow_anonymous false\npassword_file {}\n",
                    file.display()
                ));
            }
            None => conf.push_str("allow_anonymous true\n"),
        }
        if options.tls {
            make_certs(&dir);
            conf.push_str(&format!(
                "cafile {0}/ca.pem\ncertfile {0}/server.pem\nkeyfile {0}/server.key\n",
                dir.display()
            ));
        }
        // mosquitto runs as its own user when started as root: let it read its files.
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let conf_path = dir.join("mosquitto.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut broker = Broker {
            child: None,
            port,
            dir,
            conf: conf_path,
            options,
        };
        broker.launch().await;
        broker
    }

    /// The CA that signed the broker's certificate (TLS brokers).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    async fn launch(&mut self) {
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (apt install mosquitto)");
        self.child = Some(child);
        self.wait_ready().await;
    }

    /// Waits until a client gets a CONNACK.
    async fn wait_ready(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if self.connack().await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "mosquitto did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn connack(&self) -> bool {
        let mut o = MqttOptions::new(format!("probe-{}", free_port()), "127.0.0.1", self.port);
        if let Some((u, p)) = &self.options.credentials {
            o.set_credentials(u, p);
        }
        if self.options.tls {
            o.set_transport(rumqttc::Transport::tls_with_config(super::tls_client(
                &self.ca_file(),
            )));
        }
        let (client, mut ev) = AsyncClient::new(o, 10);
        let ok = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                match ev.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => return true,
                    Ok(_) => {}
                    Err(_) => return false,
                }
            }
        })
        .await
        .unwrap_or(false);
        let _ = client.disconnect().await;
        ok
    }

    /// Stops the broker (SIGTERM: it saves its persistence file) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }

    /// Freezes the broker (SIGSTOP): its connections stay open and nothing is read from
    /// them, as with a broker that has hung.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a frozen broker run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: i32) {
        let pid = self.child.as_ref().expect("the broker runs").id();
        // SAFETY: kill(2) on our own child with a valid signal number.
        assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0, "kill failed");
    }

    /// Stops and starts it again on the same port.
    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A CA and a server certificate for 127.0.0.1/localhost, made with openssl.
pub fn make_certs(dir: &Path) {
    let d = |f: &str| dir.join(f);
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=picket test CA",
        ])
        .arg("-keyout")
        .arg(d("ca.key"))
        .arg("-out")
        .arg(d("ca.pem")));
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(d("server.key"))
        .arg("-out")
        .arg(d("server.csr")));
    std::fs::write(d("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(d("server.csr"))
        .arg("-CA")
        .arg(d("ca.pem"))
        .arg("-CAkey")
        .arg(d("ca.key"))
        .arg("-extfile")
        .arg(d("ext.cnf"))
        .arg("-out")
        .arg(d("server.pem")));
}

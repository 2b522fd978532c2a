//! HTTPS for `lanyard serve`: phones at the door open the desk page on the
//! laptop's LAN address, and browsers give the camera (and service
//! workers) only to secure pages.
//!
//! Two ways: certificate and key files (`--tls-cert`/`--tls-key`, from any
//! CA, or a reverse proxy's), or `--tls lan`: a CA of the event's own, kept
//! in the data directory (made on the first start, its key readable by the
//! owner only), which signs at each start a certificate for this machine's
//! addresses. Staff trust the CA on their phones once (`/tls` shows how);
//! it may sign only for private addresses and local names (a name
//! constraint), so a copy of its key cannot impersonate a public site.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints, SanType,
};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// How long the CA of `--tls lan` is good for. Staff trust it once per
/// phone; a new one (after it runs out, or after `tls/` is deleted) must be
/// trusted again.
const CA_DAYS: i64 = 3 * 365;
/// The server's certificate is made again at each start; 397 days is the
/// most browsers accept from any CA.
const SERVER_DAYS: i64 = 397;

/// Address ranges a LAN CA may sign for: private, shared (carrier NAT and
/// overlay networks), link-local and loopback, v4 and v6.
const PRIVATE_RANGES: &[(&str, u8)] = &[
    ("10.0.0.0", 8),
    ("172.16.0.0", 12),
    ("192.168.0.0", 16),
    ("100.64.0.0", 10),
    ("169.254.0.0", 16),
    ("127.0.0.0", 8),
    ("fc00::", 7),
    ("fe80::", 10),
    ("::1", 128),
];

/// Names a LAN CA may sign for (with any labels before them).
const LOCAL_NAMES: &[&str] = &["localhost", "local", "lan", "home.arpa", "internal"];

/// A TLS setup for the server.
#[derive(Clone)]
pub struct Tls {
    pub config: Arc<ServerConfig>,
    /// With `--tls lan`: the CA phones are to trust.
    pub lan: Option<LanCa>,
}

/// The CA of `--tls lan`, as the trust page shows it.
#[derive(Clone, Debug)]
pub struct LanCa {
    /// DER, as phones install it.
    pub der: Vec<u8>,
    /// SHA-256 of the DER, `AB:CD:…`, as phones show it.
    pub fingerprint: String,
    /// Its name (the CN), as phones list it.
    pub name: String,
    /// The names and addresses the server's certificate is for.
    pub names: Vec<String>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> anyhow::Result<Arc<ServerConfig>> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the certificate and the key do not go together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// TLS from PEM files: the certificate chain (the server's first) and its
/// private key (PKCS#8, PKCS#1 or SEC1).
pub fn from_files(cert: &Path, key: &Path) -> anyhow::Result<Tls> {
    let chain = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading certificates from {}", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("{} holds no PEM certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading a PEM private key from {}", key.display()))?;
    Ok(Tls {
        config: server_config(chain, key)?,
        lan: None,
    })
}

/// `--tls lan`: the CA in `data_dir/tls` (made if missing) and a server
/// certificate it signs for this machine's names and addresses, and the
/// `extra` names or addresses given.
pub fn lan(data_dir: &Path, extra: &[String]) -> anyhow::Result<Tls> {
    let dir = data_dir.join("tls");
    lanyard_embedded::private::create_dir(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let names = lan_names(extra);
    let ca = load_or_make_ca(&dir, &names)?;
    let ca_key_pair = KeyPair::from_pem(&ca.key_pem).context("reading the LAN CA's key")?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, ca_key_pair)
        .context("reading the LAN CA's certificate")?;
    let ca_der = CertificateDer::from_pem_slice(ca.cert_pem.as_bytes())
        .context("reading the LAN CA's certificate")?;

    // Names the CA may not sign for (a public address the CA was not made
    // with) are left out, and said so.
    let (signable, refused): (Vec<_>, Vec<_>) =
        names.into_iter().partition(|n| ca.about.permits(n));
    for name in &refused {
        tracing::warn!(
            name,
            "the LAN CA cannot sign for this address (made before it was in use): \
             delete the data directory's tls/ folder to make a new CA, and trust it again"
        );
    }
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "lanyard server");
    params.subject_alt_names = signable.iter().map(|n| san(n)).collect();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(SERVER_DAYS);
    let key = KeyPair::generate().context("making the server's key")?;
    let cert = params
        .signed_by(&key, &issuer)
        .context("signing the server's certificate")?;
    let private = PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| anyhow::anyhow!("the server's key: {e}"))?;
    let config = server_config(
        vec![cert.der().clone(), ca_der.clone().into_owned()],
        private,
    )?;
    let fingerprint = Sha256::digest(ca_der.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    Ok(Tls {
        config,
        lan: Some(LanCa {
            der: ca_der.to_vec(),
            fingerprint,
            name: if ca.about.name.is_empty() {
                "lanyard LAN CA".into()
            } else {
                ca.about.name.clone()
            },
            names: signable,
        }),
    })
}

/// This machine's names and addresses: `localhost`, its host name (and
/// `.local`, as mDNS answers it), every interface's address, and `extra`.
pub fn lan_names(extra: &[String]) -> Vec<String> {
    let mut names = vec!["localhost".to_owned()];
    if let Some(host) = hostname() {
        names.push(host.clone());
        if !host.contains('.') {
            names.push(format!("{host}.local"));
        }
    }
    let mut addresses: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|all| all.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default();
    for loopback in ["127.0.0.1", "::1"] {
        addresses.push(loopback.parse().expect("an address"));
    }
    names.extend(addresses.iter().map(IpAddr::to_string));
    names.extend(extra.iter().map(|n| n.trim().to_owned()));
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| !n.is_empty() && seen.insert(n.to_ascii_lowercase()));
    names
}

/// The addresses (not names) phones on the LAN can open: every non-loopback
/// interface address among `names`, v4 first.
pub fn lan_addresses(names: &[String]) -> Vec<IpAddr> {
    let mut addresses: Vec<IpAddr> = names
        .iter()
        .filter_map(|n| n.parse().ok())
        .filter(|a: &IpAddr| !a.is_loopback() && !is_link_local(a))
        .collect();
    addresses.sort_by_key(|a| a.is_ipv6());
    addresses
}

/// `https://ADDRESS:PORT` for each of [`lan_addresses`].
pub fn lan_origins(names: &[String], port: u16) -> Vec<String> {
    lan_addresses(names)
        .into_iter()
        .map(|a| format!("https://{}", std::net::SocketAddr::new(a, port)))
        .collect()
}

fn is_link_local(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

fn hostname() -> Option<String> {
    let name = rustix::system::uname();
    let name = name.nodename().to_str().ok()?.trim().to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    valid.then_some(name)
}

fn san(name: &str) -> SanType {
    match name.parse::<IpAddr>() {
        Ok(ip) => SanType::IpAddress(ip),
        Err(_) => SanType::DnsName(
            name.to_owned()
                .try_into()
                .unwrap_or_else(|_| "localhost".to_owned().try_into().expect("a name")),
        ),
    }
}

/// Whether a LAN CA made without `name` may still sign for it.
fn permitted_by_default(name: &str) -> bool {
    match name.parse::<IpAddr>() {
        Ok(ip) => PRIVATE_RANGES
            .iter()
            .any(|(net, prefix)| in_range(ip, net.parse().expect("a range"), *prefix)),
        Err(_) => {
            let name = name.to_ascii_lowercase();
            LOCAL_NAMES
                .iter()
                .any(|l| name == *l || name.ends_with(&format!(".{l}")))
        }
    }
}

fn in_range(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

fn paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        dir.join("ca.pem"),
        dir.join("ca-key.pem"),
        dir.join("ca.json"),
    )
}

/// The CA of `--tls lan` as kept in the data directory.
struct CaFiles {
    cert_pem: String,
    key_pem: String,
    about: CaAbout,
}

/// What is kept beside the CA (`ca.json`): its name, and the names beyond
/// the defaults it was made to permit.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct CaAbout {
    name: String,
    permitted: Vec<String>,
}

impl CaAbout {
    fn permits(&self, name: &str) -> bool {
        permitted_by_default(name) || self.permitted.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

/// The CA's certificate and key (PEM), made on the first start. A CA made
/// while this machine had a public address (or was given a name outside the
/// local ones) permits that one too.
fn load_or_make_ca(dir: &Path, names: &[String]) -> anyhow::Result<CaFiles> {
    let (cert_path, key_path, about_path) = paths(dir);
    if cert_path.exists() && key_path.exists() {
        let read = |path: &Path| {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
        };
        let about = read(&about_path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        return Ok(CaFiles {
            cert_pem: read(&cert_path)?,
            key_pem: read(&key_path)?,
            about,
        });
    }
    let extra: Vec<String> = names
        .iter()
        .filter(|n| !permitted_by_default(n))
        .cloned()
        .collect();
    let mut params = CertificateParams::default();
    let host = hostname().unwrap_or_else(|| "this machine".into());
    let made = time::OffsetDateTime::now_utc();
    let name = format!("lanyard LAN CA ({host}, {})", made.date());
    params
        .distinguished_name
        .push(DnType::CommonName, name.clone());
    params
        .distinguished_name
        .push(DnType::OrganizationName, "lanyard");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let mut permitted: Vec<GeneralSubtree> = PRIVATE_RANGES
        .iter()
        .map(|(net, prefix)| {
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                net.parse().expect("a range"),
                *prefix,
            ))
        })
        .chain(
            LOCAL_NAMES
                .iter()
                .map(|n| GeneralSubtree::DnsName((*n).into())),
        )
        .collect();
    for name in &extra {
        permitted.push(match name.parse::<IpAddr>() {
            Ok(ip) => GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                ip,
                if ip.is_ipv4() { 32 } else { 128 },
            )),
            Err(_) => GeneralSubtree::DnsName(name.clone()),
        });
    }
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: Vec::new(),
    });
    params.not_before = made - time::Duration::days(1);
    params.not_after = made + time::Duration::days(CA_DAYS);
    let key = KeyPair::generate().context("making the LAN CA's key")?;
    let cert = params
        .self_signed(&key)
        .context("making the LAN CA's certificate")?;
    let about = CaAbout {
        name,
        permitted: extra,
    };
    // The certificate last: it is what says a CA is there.
    for path in [&key_path, &about_path, &cert_path] {
        let _ = std::fs::remove_file(path);
    }
    write_private(&key_path, &key.serialize_pem())?;
    write_private(
        &about_path,
        &serde_json::to_string_pretty(&about).expect("plain JSON"),
    )?;
    write_private(&cert_path, &cert.pem())?;
    tracing::info!(path = %cert_path.display(), "made a LAN CA: staff trust it once on their phones (see /tls)");
    Ok(CaFiles {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        about,
    })
}

/// `/tls` (how to trust the LAN CA on a phone), `/tls/ca.crt` (the CA, as
/// phones install it) and `/api/tls` (the same as JSON, for the organizer's
/// page): served with `--tls lan` only.
pub fn trust_routes(ca: &LanCa, port: u16) -> axum::Router {
    use axum::http::header;
    use axum::response::{Html, IntoResponse};
    use axum::routing::get;

    let der = ca.der.clone();
    let addresses = lan_origins(&ca.names, port);
    let json = serde_json::json!({
        "mode": "lan",
        "ca_name": ca.name,
        "fingerprint_sha256": ca.fingerprint,
        "names": ca.names,
        "addresses": addresses,
        "certificate_url": "/tls/ca.crt",
    });
    let page = trust_page(ca, &addresses);
    let headers = tower::ServiceBuilder::new()
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(lanyard_http::CONTENT_SECURITY_POLICY),
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        ));
    axum::Router::new()
        .route(
            "/tls/ca.crt",
            get(move || {
                let der = der.clone();
                async move {
                    (
                        [
                            (header::CONTENT_TYPE, "application/x-x509-ca-cert"),
                            (
                                header::CONTENT_DISPOSITION,
                                "attachment; filename=\"lanyard-ca.crt\"",
                            ),
                        ],
                        der,
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/api/tls",
            get(move || {
                let json = json.clone();
                async move { axum::Json(json) }
            }),
        )
        .route(
            "/tls",
            get(move || {
                let page = page.clone();
                async move { Html(page) }
            }),
        )
        .layer(headers)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The trust page: plain HTML, no script (the page's policy allows none
/// inline), in the site's style.
fn trust_page(ca: &LanCa, addresses: &[String]) -> String {
    let addresses = if addresses.is_empty() {
        "<li>(no LAN address found: is this machine on the venue's network?)</li>".to_owned()
    } else {
        addresses
            .iter()
            .map(|a| {
                let a = escape(a);
                format!("<li><a href=\"{a}/desk\">{a}/desk</a></li>")
            })
            .collect()
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>lanyard — trust this server on a phone</title>
  <link rel="icon" href="/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/style.css">
</head>
<body>
  <main id="main">
    <section class="card" id="trust">
      <h1>Trust this server on a phone</h1>
      <p class="lead">Desk phones open this server over HTTPS (the camera needs it) with a certificate
      from this event's own authority, <strong>{name}</strong>. Each phone trusts it once; it can vouch
      only for local addresses and names, nothing on the internet.</p>
      <p><a class="button" id="download" href="/tls/ca.crt" download="lanyard-ca.crt">Download the certificate</a></p>
      <p>Check that the phone shows this SHA-256 fingerprint:</p>
      <p><code id="fingerprint">{fingerprint}</code></p>
      <h2>iPhone and iPad (Safari)</h2>
      <ol>
        <li>Open this page in Safari and tap <em>Download the certificate</em>, then <em>Allow</em>.</li>
        <li>Settings → General → VPN &amp; Device Management → the downloaded profile → Install.</li>
        <li>Settings → General → About → Certificate Trust Settings → turn on full trust for <em>{name}</em>.</li>
      </ol>
      <h2>Android (Chrome)</h2>
      <ol>
        <li>Tap <em>Download the certificate</em>.</li>
        <li>Settings → Security and privacy → More security settings → Encryption &amp; credentials →
        Install a certificate → CA certificate → Install anyway → pick <em>lanyard-ca.crt</em>.</li>
        <li>Close and reopen Chrome.</li>
      </ol>
      <h2>Then open the desk</h2>
      <ul id="addresses">{addresses}</ul>
      <p class="lead">Until a phone trusts the certificate its browser warns before opening these
      addresses, and will not keep the desk page for offline use. Remove the certificate from the
      phone after the event (the same settings).</p>
    </section>
  </main>
</body>
</html>
"#,
        name = escape(&ca.name),
        fingerprint = escape(&ca.fingerprint),
    )
}

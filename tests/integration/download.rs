//! `data download` and `data info` against a tiny HTTP/1.1 server on 127.0.0.1: never
//! the network. The library's [`DownloadSpec`] takes the test's own checksums for the
//! success paths; the binary is run end to end for the failures the published
//! checksums catch.

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

use lenet_tui::data::catalog::Md5;
use lenet_tui::data::download::{
    self, DownloadError, DownloadEvent, DownloadReport, DownloadSpec, ExpectedFile, FetchProblem,
};
use lenet_tui::data::{DataLocation, Dataset, IDX_FILES, KnownDataset, Origin};

/// What the server answers for a path.
#[derive(Clone)]
enum Reply {
    /// 200 with this body.
    File(Vec<u8>),
    /// This status, with a short body.
    Status(u16),
    /// 200 announcing `announced` bytes, then these fewer bytes, then a closed
    /// connection.
    CutShort { body: Vec<u8>, announced: usize },
}

/// An HTTP/1.1 server on an ephemeral port; one thread, one request per connection.
struct Server {
    port: u16,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let routes = Arc::new(Mutex::new(HashMap::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (r, q) = (routes.clone(), requests.clone());
        // Lives as long as the test process: a blocked accept holds nothing.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &r, &q);
            }
        });
        Server {
            port,
            routes,
            requests,
        }
    }

    fn mirror(&self) -> String {
        format!("http://127.0.0.1:{}/data/", self.port)
    }

    fn url_of(&self, file: &str) -> String {
        format!("{}{file}", self.mirror())
    }

    fn set(&self, file: &str, reply: Reply) {
        self.routes
            .lock()
            .unwrap()
            .insert(format!("/data/{file}"), reply);
    }

    fn requests(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn serve(
    mut stream: TcpStream,
    routes: &Mutex<HashMap<String, Reply>>,
    requests: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    requests.lock().unwrap().push(path.clone());
    let reply = routes
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or(Reply::Status(404));
    let head = |status: &str, length: usize| {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: {length}\r\nConnection: close\r\n\r\n"
        )
    };
    match reply {
        Reply::File(body) => {
            stream.write_all(head("200 OK", body.len()).as_bytes())?;
            stream.write_all(&body)?;
        }
        Reply::Status(code) => {
            let body = b"no such file\n";
            stream.write_all(head(&format!("{code} Whatever"), body.len()).as_bytes())?;
            stream.write_all(body)?;
        }
        Reply::CutShort { body, announced } => {
            stream.write_all(head("200 OK", announced).as_bytes())?;
            stream.write_all(&body)?;
        }
    }
    stream.flush()?;
    stream.shutdown(Shutdown::Both)
}

/// A tiny valid data set's four `.gz` files, in `IDX_FILES` order.
fn tiny_dataset() -> Vec<(String, Vec<u8>)> {
    let src = tempfile::tempdir().unwrap();
    common::write_dataset(src.path(), 20, 10);
    IDX_FILES
        .iter()
        .map(|name| {
            let file = format!("{name}.gz");
            let bytes = std::fs::read(src.path().join(&file)).unwrap();
            (file, bytes)
        })
        .collect()
}

/// A server with `files`, and a spec that expects exactly them in `dir`.
fn serve_files(files: &[(String, Vec<u8>)], dir: &Path) -> (Server, DownloadSpec) {
    let server = Server::start();
    for (name, bytes) in files {
        server.set(name, Reply::File(bytes.clone()));
    }
    let spec = DownloadSpec {
        mirror: server.mirror().parse().unwrap(),
        dir: dir.to_path_buf(),
        files: files
            .iter()
            .map(|(name, bytes)| ExpectedFile {
                name: name.clone(),
                md5: Md5::of(bytes),
            })
            .collect(),
    };
    (server, spec)
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `spec`, keeping each event as text.
fn run(spec: &DownloadSpec) -> (Result<DownloadReport, DownloadError>, Vec<String>) {
    let mut events = Vec::new();
    let result = download::download(spec, |e| {
        if !matches!(e, DownloadEvent::Progress { .. }) {
            events.push(format!("{e:?}"));
        }
    });
    (result, events)
}

#[test]
fn verified_files_are_installed_load_and_are_skipped_the_second_time() {
    let files = tiny_dataset();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("lenet-tui/fashion-mnist");
    let (server, spec) = serve_files(&files, &dir);

    let (result, events) = run(&spec);
    assert_eq!(
        result.unwrap(),
        DownloadReport {
            fetched: 4,
            skipped: 0
        }
    );
    assert_eq!(
        events.iter().filter(|e| e.starts_with("Installed")).count(),
        4,
        "{events:?}"
    );
    let mut expected: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    expected.sort();
    assert_eq!(names_in(&dir), expected, "the four files and nothing else");
    let data = Dataset::load(&DataLocation::Dir {
        path: dir.clone(),
        origin: Origin::UserDataDir,
    })
    .unwrap();
    assert_eq!((data.train.len(), data.test.len()), (20, 10));
    assert_eq!(server.requests(), 4);

    let (result, events) = run(&spec);
    assert_eq!(
        result.unwrap(),
        DownloadReport {
            fetched: 0,
            skipped: 4
        }
    );
    assert!(
        events.iter().all(|e| e.starts_with("Skipped")),
        "{events:?}"
    );
    assert_eq!(server.requests(), 4, "nothing fetched again");

    // A damaged install is fetched again and replaced.
    let labels = dir.join(&files[1].0);
    std::fs::write(&labels, b"damaged").unwrap();
    let (result, events) = run(&spec);
    assert_eq!(
        result.unwrap(),
        DownloadReport {
            fetched: 1,
            skipped: 3
        }
    );
    assert!(events[1].starts_with("Replacing"), "{events:?}");
    assert_eq!(std::fs::read(&labels).unwrap(), files[1].1);
}

#[test]
fn a_failure_midway_keeps_what_was_installed_and_leaves_no_partial_file() {
    let files = tiny_dataset();
    let dir = tempfile::tempdir().unwrap();
    let (server, spec) = serve_files(&files, dir.path());
    // The second file is cut short; the third is installed but damaged and its
    // replacement is not the published file.
    let (labels, labels_bytes) = &files[1];
    server.set(
        labels,
        Reply::CutShort {
            body: labels_bytes[..10].to_vec(),
            announced: labels_bytes.len(),
        },
    );
    let (test_images, _) = &files[2];
    std::fs::write(dir.path().join(test_images), b"old install").unwrap();
    server.set(test_images, Reply::File(b"not the file".to_vec()));

    let (result, _) = run(&spec);
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            DownloadError::Fetch {
                problem: FetchProblem::Truncated { received: 10, .. },
                ..
            }
        ),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.starts_with(&server.url_of(labels)), "{message}");
    assert!(
        message.contains(&format!(
            "closed after 10 of the {} bytes",
            labels_bytes.len()
        )),
        "{message}"
    );
    assert_eq!(
        names_in(dir.path()),
        [test_images.clone(), files[0].0.clone()],
        "the first file installed, the damaged one untouched, no .part file"
    );

    server.set(labels, Reply::File(labels_bytes.clone()));
    let (result, _) = run(&spec);
    let err = result.unwrap_err().to_string();
    assert!(err.starts_with(&server.url_of(test_images)), "{err}");
    assert!(err.contains("MD5 mismatch"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join(test_images)).unwrap(),
        b"old install",
        "a failed replacement leaves the installed file alone"
    );
    assert_eq!(names_in(dir.path()).len(), 3, "no .part file left");
}

fn lenet(home: &Path, args: &[&str]) -> Output {
    common::lenet_in(home, args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `lenet-tui data download ARGS --mirror SERVER --dir DIR`: the published checksums.
fn download_cli(server: &Server, dir: &Path, extra: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mirror = server.mirror();
    let dir = dir.display().to_string();
    let mut args = vec!["data", "download"];
    args.extend_from_slice(extra);
    args.extend(["--mirror", &mirror, "--dir", &dir]);
    lenet(home.path(), &args)
}

#[test]
fn the_binary_refuses_a_body_whose_md5_is_not_the_published_one() {
    let server = Server::start();
    let body = b"certainly not Fashion-MNIST".to_vec();
    server.set("train-images-idx3-ubyte.gz", Reply::File(body.clone()));
    let dir = tempfile::tempdir().unwrap();
    let out = download_cli(&server, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&server.url_of("train-images-idx3-ubyte.gz")),
        "{err}"
    );
    assert!(
        err.contains("train-images-idx3-ubyte.gz was not installed"),
        "{err}"
    );
    assert!(err.contains(&Md5::of(&body).to_string()), "{err}");
    assert!(err.contains("8d4fb7e6c68d591d4c3dfef9ec88bf0d"), "{err}");
    assert!(
        names_in(dir.path()).is_empty(),
        "{:?}",
        names_in(dir.path())
    );
}

#[test]
fn the_binary_refuses_a_response_cut_short() {
    let server = Server::start();
    // MNIST over HTTP here, though its real mirror is HTTPS: the rule is the same.
    server.set(
        "train-images-idx3-ubyte.gz",
        Reply::CutShort {
            body: vec![0x1f; 100],
            announced: 1000,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let out = download_cli(&server, dir.path(), &["mnist"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}: the connection closed after 100 of the 1000 bytes announced by \
             Content-Length; the partial download was deleted",
            server.url_of("train-images-idx3-ubyte.gz")
        )),
        "{err}"
    );
    assert!(
        names_in(dir.path()).is_empty(),
        "{:?}",
        names_in(dir.path())
    );
}

#[test]
fn the_binary_names_the_url_that_is_not_found() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = download_cli(&server, dir.path(), &["fashion-mnist"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.lines()
            .last()
            .map(|l| l.starts_with("lenet-tui: error:")),
        Some(true)
    );
    assert!(
        err.contains(&format!(
            "{}: the server answered HTTP 404 Not Found",
            server.url_of("train-images-idx3-ubyte.gz")
        )),
        "{err}"
    );
    assert!(names_in(dir.path()).is_empty());
}

/// At debug the log holds the request, ureq's own records and the failure.
#[test]
fn a_download_at_debug_logs_its_requests_and_the_http_clients_records() {
    let server = Server::start();
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mirror = server.mirror();
    let dir = dir.path().display().to_string();
    let args = ["data", "download", "--mirror", &mirror, "--dir", &dir];
    let out = lenet(
        home.path(),
        &[&args[..], &["--log-level", "debug"]].concat(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let log = common::logs_in(home.path());
    let url = server.url_of("train-images-idx3-ubyte.gz");
    assert!(
        log.lines()
            .any(|l| l.contains("DEBUG") && l.contains("GET") && l.contains(&url)),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("DEBUG") && l.contains(" ureq")),
        "ureq's records: {log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains("HTTP 404 Not Found")),
        "{log}"
    );
    // At the default level, neither the requests nor ureq's records.
    let quiet = tempfile::tempdir().unwrap();
    lenet(quiet.path(), &args);
    let log = common::logs_in(quiet.path());
    assert!(!log.contains("DEBUG"), "{log}");
    assert!(log.contains("ERROR"), "{log}");
}

#[test]
fn a_mirror_from_the_config_file_is_used_and_a_bad_one_is_refused() {
    let server = Server::start();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("c.toml");
    std::fs::write(
        &config,
        format!("[data.mirror]\nmnist = \"{}\"\n", server.mirror()),
    )
    .unwrap();
    let config = config.display().to_string();
    let out = lenet(
        home.path(),
        &["data", "download", "mnist", "--config", &config],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&server.url_of("train-images-idx3-ubyte.gz")),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.requests(), 1);
    assert!(
        home.path().join("lenet-tui/mnist").is_dir(),
        "the default install dir is the user data dir"
    );

    let out = lenet(
        home.path(),
        &["data", "download", "--mirror", "ftp://127.0.0.1/"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`ftp://127.0.0.1/` is not a mirror URL"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn info_shows_each_file_and_the_data_a_plain_run_uses() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("lenet-tui/fashion-mnist");
    let files = tiny_dataset();
    let (_server, spec) = serve_files(&files, &dir);
    run(&spec).0.unwrap();

    let out = lenet(home.path(), &["data", "info"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let user_line = format!(
        "user data dir   {}:  <- a plain run uses this",
        dir.display()
    );
    assert!(text.contains(&user_line), "{text}");
    // The test's own files are not the published ones.
    assert_eq!(
        text.matches("is not the published one").count(),
        4 + system_files_not_published(),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "user data dir   {}: not installed",
            home.path().join("lenet-tui/mnist").display()
        )),
        "{text}"
    );
    assert!(text.contains("lenet-tui data download mnist"), "{text}");
    assert!(text.contains("Ankle boot"), "{text}");
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with("a plain `lenet-tui` run uses: Fashion-MNIST in")
            && last.ends_with("(user data dir) (20 train / 10 test images)"),
        "{last}"
    );
}

/// Files of the system package (if installed here) whose MD5 is not the published
/// one: Debian's package recompresses them.
fn system_files_not_published() -> usize {
    let system = KnownDataset::FashionMnist.system_dir().unwrap();
    let files: Vec<ExpectedFile> = KnownDataset::FashionMnist
        .files()
        .into_iter()
        .map(Into::into)
        .collect();
    download::check_installed(system, &files)
        .iter()
        .filter(|s| matches!(s, download::FileState::OtherChecksum(_)))
        .count()
}

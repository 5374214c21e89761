//! Support for the end-to-end tests: find the real binaries, give each test its own data
//! directory, run commands and read their output, and make rosters.
//!
//! The binaries are the ones cargo built for this test run (`target/<profile>/baoxue-node`,
//! found from the test executable's own path). `cargo test` at the workspace root builds them
//! (the node and hub packages have integration tests, so cargo builds their binaries first);
//! if a binary is missing (e.g. `cargo test -p baoxue --test e2e` on a clean tree) it is built
//! once with `cargo build`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use baoxue_shared::ids::make_id;
use baoxue_shared::Date;
use serde_json::Value;

pub use tempfile::TempDir;

static BUILD: Mutex<()> = Mutex::new(());

/// The path of a workspace binary (`baoxue-node`, `baoxue-hub`), built if missing.
pub fn bin(name: &str) -> PathBuf {
    let exe = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let current = std::env::current_exe().expect("current test executable");
    // target/<profile>/deps/e2e-<hash> → target/<profile>
    let mut profile_dir = None;
    for dir in current.ancestors().skip(1) {
        if dir.join(&exe).is_file() {
            return dir.join(&exe);
        }
        if dir.file_name().map(|n| n == "deps").unwrap_or(false) {
            profile_dir = dir.parent().map(Path::to_path_buf);
            break;
        }
    }
    let profile_dir = profile_dir.unwrap_or_else(|| current.parent().expect("exe dir").to_path_buf());
    let path = profile_dir.join(&exe);
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    if !path.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let release = profile_dir.file_name().map(|n| n == "release").unwrap_or(false);
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--bin", name]).current_dir(env!("CARGO_MANIFEST_DIR"));
        if name == "baoxue-node" {
            // As `cargo test` at the root builds it: with the durability tests' crash hook.
            cmd.args(["--features", "baoxue-node/test-hooks"]);
        }
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "cargo build --bin {name} failed");
    }
    assert!(path.is_file(), "binary {} not found", path.display());
    path
}

/// The org CSV of the test county: two townships; 鸦岭 has a primary school, a second primary
/// school, a junior middle school and a nine-year school.
/// The day the node binaries take as today in these tests (`BAOXUE_TODAY`): the last day of
/// school year 2026, so every business date the tests record is in the past.
pub const TEST_TODAY: &str = "2027-08-31";

pub const ORG_CSV: &str = "\
乡镇,学校,类型,校长,包校领导,乡镇分管领导,乡镇主要领导
鸦岭,鸦岭中心小学,小学,王校长,李局长,赵副镇长,钱镇长
鸦岭,鸦岭二小,小学,周校长,李局长,赵副镇长,钱镇长
鸦岭,鸦岭初中,初中,孙校长,李局长,赵副镇长,钱镇长
鸦岭,鸦岭九年制学校,九年一贯制,吴校长,李局长,赵副镇长,钱镇长
白沙,白沙小学,小学,郑校长,冯局长,陈副镇长,褚镇长
";

/// The result of one run of a binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A township node on a temporary data directory.
pub struct Node {
    pub tmp: TempDir,
    pub data: PathBuf,
}

impl Node {
    /// An initialised offline node of 鸦岭 (county 410329, default policy).
    pub fn new() -> Node {
        Node::with_policy(None)
    }

    pub fn with_policy(policy: Option<&str>) -> Node {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let node = Node { data, tmp };
        let org = node.file("org.csv", ORG_CSV.as_bytes());
        let org = org.to_str().expect("utf-8 path").to_string();
        let mut args =
            vec!["init", "--county-code", "410329", "--county-name", "测试县", "--township", "鸦岭", "--org", &org];
        if let Some(p) = policy {
            args.extend(["--policy", p]);
        }
        node.ok(&args);
        node
    }

    /// Writes a file into the node's temporary directory (outside its data directory).
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::write(&p, bytes).expect("write test file");
        p
    }

    /// A command for this node's binary, with `--data`, a fixed operator and a fixed today.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("baoxue-node"));
        c.arg("--data").arg(&self.data).args(args);
        c.env("BAOXUE_OPERATOR", "测试员").env_remove("BAOXUE_DATA").env_remove("BAOXUE_LOG");
        // "Today" is fixed (shared::dates::TODAY_ENV), so the plausible-date rule judges the
        // tests' business dates (up to the end of school year 2026) the same on any day they run.
        c.env("BAOXUE_TODAY", TEST_TODAY);
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().expect("run baoxue-node").into()
    }

    /// Runs and requires success; returns stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "baoxue-node {args:?} failed:\nstdout: {}\nstderr: {}", r.stdout, r.stderr);
        r.stdout
    }

    /// Runs and requires exit 1 with nothing on stdout; returns the whole of stderr (without its
    /// final newline), so a caller can check it is one line.
    #[track_caller]
    pub fn fails(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 1, "baoxue-node {args:?} should fail with 1:\nstdout: {}\nstderr: {}", r.stdout, r.stderr);
        assert!(r.stdout.trim().is_empty(), "a failed command printed on stdout: {}", r.stdout);
        r.stderr.trim_end_matches(['\n', '\r']).to_string()
    }

    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }

    /// Everything a failed command must leave as it was.
    pub fn snapshot(&self) -> Value {
        let mut status = self.json(&["status", "--json"]);
        // The disk's free space moves with everything else on the machine.
        if let Some(ops) = status.get_mut("operations").and_then(Value::as_object_mut) {
            ops.remove("disk");
        }
        serde_json::json!({
            "status": status,
            "students": self.json(&["student", "list", "--all", "--unmasked", "--json"]),
            "cases": self.json(&["case", "list", "--unmasked", "--json"]),
        })
    }
}

impl Default for Node {
    fn default() -> Node {
        Node::new()
    }
}

/// One roster row.
#[derive(Debug, Clone)]
pub struct Kid {
    pub student_no: String,
    pub id: String,
    pub name: String,
    pub sex: &'static str,
    pub birth: String,
    pub school: String,
    pub grade: u8,
    pub class: String,
}

impl Kid {
    /// A valid child of `school` and `grade`; `n` makes the ID unique (and sets the sex).
    pub fn new(n: u32, school: &str, grade: u8) -> Kid {
        let year = 2026 - 6 - i32::from(grade);
        let birth = Date::ymd(year, 1 + n % 12, 1 + n % 28);
        let area = format!("4103{:02}", 20 + (n / 1000) % 80);
        let id = make_id(&area, birth.0, (n % 1000) as u16);
        let seq_digit = id.as_str().as_bytes()[16] - b'0';
        Kid {
            student_no: format!("G{}", id.as_str()),
            id: id.as_str().to_string(),
            name: format!("学生{n}"),
            sex: if seq_digit % 2 == 1 { "男" } else { "女" },
            birth: birth.to_string(),
            school: school.to_string(),
            grade,
            class: format!("{}班", 1 + n % 3),
        }
    }

    /// A valid child as [`Kid::new`], born on `birth` (YYYY-MM-DD): its ID, 学籍号 and sex follow.
    pub fn born(n: u32, school: &str, grade: u8, birth: &str) -> Kid {
        let mut k = Kid::new(n, school, grade);
        let b = Date::parse(birth).expect("a valid test birth date");
        let id = make_id(&k.id[..6], b.0, (n % 1000) as u16);
        k.sex = if (id.as_str().as_bytes()[16] - b'0') % 2 == 1 { "男" } else { "女" };
        k.student_no = format!("G{}", id.as_str());
        k.id = id.as_str().to_string();
        k.birth = b.to_string();
        k
    }

    pub fn row(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},鸦岭,东村,{},,{}家长,1390000{:04}",
            self.student_no,
            self.id,
            self.name,
            self.sex,
            self.birth,
            self.school,
            self.grade,
            self.class,
            2026 - i32::from(self.grade) + 1,
            self.name,
            self.grade
        )
    }
}

pub const ROSTER_HEADER: &str =
    "学籍号,身份证号,姓名,性别,出生日期,学校,年级,班级,户籍乡镇,户籍村,入学年份,特殊群体,监护人,监护人电话";

/// A roster CSV of these children.
pub fn roster(kids: &[Kid]) -> String {
    let mut s = String::from(ROSTER_HEADER);
    s.push('\n');
    for k in kids {
        s.push_str(&k.row());
        s.push('\n');
    }
    s
}

/// `n` valid children spread over the schools of 鸦岭.
pub fn kids(n: u32) -> Vec<Kid> {
    (0..n)
        .map(|i| {
            let (school, grade) = match i % 3 {
                0 => ("鸦岭中心小学", 1 + (i / 3 % 6) as u8),
                1 => ("鸦岭二小", 1 + (i / 3 % 6) as u8),
                _ => ("鸦岭初中", 7 + (i / 3 % 3) as u8),
            };
            Kid::new(i + 1, school, grade)
        })
        .collect()
}

impl Node {
    /// A node set up from a bundle the hub issued (`init --bundle`).
    pub fn from_bundle(bundle: &Path) -> Node {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let node = Node { data, tmp };
        node.ok(&["init", "--bundle", &bundle.to_string_lossy()]);
        node
    }

    /// An offline node of `township` (county 410329, default policy) that has never seen a hub.
    pub fn offline(township: &str) -> Node {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let node = Node { data, tmp };
        let org = node.file("org.csv", ORG_CSV.as_bytes());
        node.ok(&["init", "--county-code", "410329", "--township", township, "--org", &org.to_string_lossy()]);
        node
    }

    /// `sync --json`, retried while the hub process is still starting (up to ~20 s).
    #[track_caller]
    pub fn sync(&self, hub: &Hub) -> Value {
        let mut last = None;
        for _ in 0..80 {
            let r = self.run(&["sync", "--hub", &hub.addr, "--json"]);
            if r.code == 0 {
                return serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("sync --json: {e}: {}", r.stdout));
            }
            last = Some(r);
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        panic!("sync never succeeded: {last:?}");
    }
}

/// The county hub on a temporary data directory, with `serve` as a real process.
pub struct Hub {
    pub tmp: TempDir,
    pub data: PathBuf,
    /// `127.0.0.1:PORT` that `serve` listens on.
    pub addr: String,
    serve: Option<std::process::Child>,
}

impl Hub {
    /// `init` of county 410329 (测试县) with the test org file imported.
    pub fn new() -> Hub {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("hub");
        let port = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp").local_addr().expect("addr").port();
        let hub = Hub { data, tmp, addr: format!("127.0.0.1:{port}"), serve: None };
        hub.ok(&["init", "--county-code", "410329", "--name", "测试县"]);
        let org = hub.tmp.path().join("org.csv");
        std::fs::write(&org, ORG_CSV).expect("write org");
        hub.ok(&["org", "import", &org.to_string_lossy()]);
        hub
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("baoxue-hub"));
        c.arg("--data").arg(&self.data).args(args).env_remove("BAOXUE_LOG").stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().expect("run baoxue-hub").into()
    }

    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "baoxue-hub {args:?} failed:\nstdout: {}\nstderr: {}", r.stdout, r.stderr);
        r.stdout
    }

    /// `node add NAME --township T --out FILE`; returns the bundle's path.
    pub fn bundle(&self, name: &str, township: &str) -> PathBuf {
        let out = self.tmp.path().join(format!("{name}.bundle"));
        self.ok(&["node", "add", name, "--township", township, "--out", &out.to_string_lossy()]);
        out
    }

    /// Starts `serve --listen ADDR` (nodes retry until it answers), without the dashboard.
    pub fn serve(&mut self) {
        self.serve_with(&["--no-web"]);
    }

    /// Starts `serve` with the county's dashboard on a free loopback port; returns its URL
    /// (`http://127.0.0.1:PORT`) once it accepts connections.
    pub fn serve_web(&mut self) -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("tcp").local_addr().expect("addr").port();
        let web = format!("127.0.0.1:{port}");
        self.serve_with(&["--web", &web]);
        for _ in 0..200 {
            if std::net::TcpStream::connect(&web).is_ok() {
                return format!("http://{web}");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the dashboard never listened on {web}");
    }

    fn serve_with(&mut self, extra: &[&str]) {
        assert!(self.serve.is_none(), "already serving");
        let mut args = vec!["serve", "--listen", &self.addr];
        args.extend_from_slice(extra);
        let child =
            self.command(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn baoxue-hub serve");
        self.serve = Some(child);
    }

    /// Stops `serve` (SIGKILL: the hub acknowledges only what is durable, so this is safe).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.serve.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Hub {
    /// A hub restored from `backup` (with the county's backup `identity`) into a new
    /// directory, on a new port.
    pub fn restored_from(_old: &Hub, backup: &Path, identity: &Path) -> Hub {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("hub");
        let port = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp").local_addr().expect("addr").port();
        let hub = Hub { data, tmp, addr: format!("127.0.0.1:{port}"), serve: None };
        hub.ok(&["restore", &backup.to_string_lossy(), "--identity", &identity.to_string_lossy()]);
        hub
    }
}

impl Node {
    /// A node restored from `backup` into a new directory.
    pub fn restored_from(backup: &Path, identity: &Path) -> Node {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let node = Node { data, tmp };
        node.ok(&["restore", &backup.to_string_lossy(), "--identity", &identity.to_string_lossy()]);
        node
    }
}

impl Default for Hub {
    fn default() -> Hub {
        Hub::new()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop();
    }
}

//! Screenshots of a running app's pages in headless Chromium (the README's tours, and looking
//! at pages while building them):
//! `cargo run -p baoxue-web --features browser --example shots -- URL LOGIN PASSWORD OUTDIR PATH…`
//! A path ending in `@phone` is taken at a phone's width (390 px); one ending in `@pdf` is
//! printed to PDF (A4, as the print stylesheet lays it out).

use baoxue_web::browser::Browser;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, login, password, out, paths @ ..] = args.as_slice() else {
        return Err("用法：shots URL LOGIN PASSWORD OUTDIR PATH…".into());
    };
    std::fs::create_dir_all(out)?;
    let mut b = Browser::launch()?;
    b.goto(&format!("{url}/login"))?;
    b.fill("input[name=login]", login)?;
    b.fill("input[name=password]", password)?;
    b.click_and_wait("form[action='/login'] button[type=submit]")?;
    for p in paths {
        if let Some(path) = p.strip_suffix("@pdf") {
            b.viewport(1280, 900, false)?;
            b.goto(&format!("{url}{path}"))?;
            let name: String =
                path.trim_matches('/').chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect();
            let file = format!("{out}/{}.pdf", if name.is_empty() { "home" } else { &name });
            std::fs::write(&file, b.pdf()?)?;
            println!("{file}");
            continue;
        }
        let (path, phone) = match p.strip_suffix("@phone") {
            Some(x) => (x, true),
            None => (p.as_str(), false),
        };
        if phone {
            b.viewport(390, 844, true)?;
        } else {
            b.viewport(1280, 900, false)?;
        }
        b.goto(&format!("{url}{path}"))?;
        let name: String =
            path.trim_matches('/').chars().map(|c| if c.is_alphanumeric() { c } else { '_' }).collect::<String>();
        let name = if name.is_empty() { "home".to_string() } else { name };
        let file = format!("{out}/{name}{}.png", if phone { "-phone" } else { "" });
        std::fs::write(&file, b.screenshot()?)?;
        println!("{file}");
    }
    Ok(())
}

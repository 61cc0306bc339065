//! `picket report`: the periodic security review's report for a month, a quarter, the
//! assessment year or two dates, from the journal, written as HTML, CSV and PDF files.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config;
use crate::journal::Journal;
use crate::report::{Report, period};

/// Options of `picket report`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Configuration file (the site's names, time zone and locale, and the journal).
    #[arg(long, short, required_unless_present = "journal")]
    config: Option<PathBuf>,
    /// Journal file, without a configuration (ids for names, Asia/Ho_Chi_Minh time).
    #[arg(long)]
    journal: Option<PathBuf>,
    /// A calendar month, `YYYY-MM`.
    #[arg(long, group = "period")]
    month: Option<String>,
    /// A quarter, `YYYY-Qn`.
    #[arg(long, group = "period")]
    quarter: Option<String>,
    /// The assessment year ending in `YYYY` (16 November of YYYY-1 to 15 November).
    #[arg(long, group = "period")]
    assessment_year: Option<String>,
    /// First day, `YYYY-MM-DD` (with `--to`).
    #[arg(long, group = "period", requires = "to")]
    from: Option<String>,
    /// Last day, `YYYY-MM-DD`, included.
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// `html`, `csv`, `pdf` (repeat or separate with commas). Default all three.
    #[arg(long, value_delimiter = ',')]
    format: Vec<String>,
    /// `vi` or `en` (default: the site's locale).
    #[arg(long)]
    lang: Option<String>,
    /// Directory for the files (default: the current one).
    #[arg(long, default_value = ".")]
    out: PathBuf,
}

/// Makes and writes the report; prints each file written.
pub async fn run(args: ReportArgs) -> ExitCode {
    match make(args).await {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("picket report: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn make(args: ReportArgs) -> Result<Vec<PathBuf>, String> {
    let config = match &args.config {
        Some(path) => Some(config::load(path).map_err(|e| format!("{}: {e}", path.display()))?),
        None => None,
    };
    let site = config
        .as_ref()
        .map(crate::engine::Site::from_config)
        .unwrap_or_else(|| crate::engine::Site::from_config(&config::Config::default()));
    let tz_name = config
        .as_ref()
        .map(|c| c.site.timezone.clone())
        .unwrap_or_else(|| "Asia/Ho_Chi_Minh".into());
    let tz =
        jiff::tz::TimeZone::get(&tz_name).map_err(|e| format!("site.timezone {tz_name:?}: {e}"))?;
    let vi = match args.lang.as_deref() {
        Some("vi") => true,
        Some("en") => false,
        Some(other) => return Err(format!("--lang {other:?}: expected vi or en")),
        None => config
            .as_ref()
            .is_none_or(|c| c.site.locale == config::Locale::Vi),
    };
    let period = match (
        &args.month,
        &args.quarter,
        &args.assessment_year,
        &args.from,
        &args.to,
    ) {
        (Some(m), ..) => period::month(m, &tz),
        (_, Some(q), ..) => period::quarter(q, &tz),
        (_, _, Some(y), ..) => period::assessment_year(y, &tz),
        (_, _, _, Some(from), Some(to)) => period::between(from, to, &tz),
        _ => {
            return Err(
                "give --month YYYY-MM, --quarter YYYY-Qn, --assessment-year YYYY or --from/--to"
                    .into(),
            );
        }
    }
    .map_err(|e| e.to_string())?;
    let formats = if args.format.is_empty() {
        vec!["html".to_string(), "csv".to_string(), "pdf".to_string()]
    } else {
        args.format.clone()
    };
    if let Some(bad) = formats
        .iter()
        .find(|f| !["html", "csv", "pdf"].contains(&f.as_str()))
    {
        return Err(format!("--format {bad:?}: expected html, csv or pdf"));
    }
    // The fonts first: a missing one is named before the journal is read.
    let fonts = if formats.iter().any(|f| f == "pdf") {
        let reports = config
            .as_ref()
            .map(|c| c.reports.clone())
            .unwrap_or_default();
        Some(crate::report::pdf::Fonts::load(&reports).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let journal_path = match (&args.journal, &config) {
        (Some(j), _) => j.clone(),
        (None, Some(c)) => c.journal.path.clone(),
        (None, None) => return Err("give --config FILE or --journal FILE".into()),
    };
    let journal = Journal::open_existing(&journal_path)
        .await
        .map_err(|e| e.to_string())?;
    let setup = config
        .as_ref()
        .map(crate::report::Setup::from_config)
        .unwrap_or_default();
    let report = Report::make(&journal, &site, setup, tz, period, &super::operator(), vi)
        .await
        .map_err(|e| e.to_string());
    journal.close().await;
    let report = report?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let mut written = Vec::new();
    let mut write = |name: String, text: Vec<u8>| -> Result<(), String> {
        let path = args.out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
        Ok(())
    };
    for format in &formats {
        match format.as_str() {
            "html" => write(
                format!("{}.html", report.file_stem()),
                crate::report::html::render(&report)
                    .map_err(|e| e.to_string())?
                    .into_bytes(),
            )?,
            "pdf" => {
                if let Some(fonts) = &fonts {
                    write(
                        format!("{}.pdf", report.file_stem()),
                        crate::report::pdf::render(&report, fonts).map_err(|e| e.to_string())?,
                    )?;
                }
            }
            _ => {
                for (name, text) in crate::report::csv::files(&report) {
                    write(name, text.into_bytes())?;
                }
            }
        }
    }
    Ok(written)
}

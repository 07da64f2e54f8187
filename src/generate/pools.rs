//! The team a corpus is about, made once per seed: the name and text data
//! (people, teams, groups, apps, places, paths, free text) and [`Pools`], the
//! prebuilt people, groups, apps, assets and details values events pick from.

use super::rng::Rng;
use super::shapes;
use super::values::{push_str, Frag};
use std::fmt::Write as _;

const LATIN_FIRST: &[&str] = &[
    "John",
    "Jane",
    "Alice",
    "Bob",
    "Carol",
    "David",
    "Emma",
    "Frank",
    "Grace",
    "Hiro",
    "Ivan",
    "Julia",
    "Karl",
    "Laura",
    "Mohammed",
    "Nina",
    "Oscar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wei",
    "Xavier",
    "Yuki",
    "Zoë",
    "José",
    "François",
    "Søren",
    "Łukasz",
    "Ayşe",
    "Renée",
    "Björn",
    "Chloé",
    "Dana",
    "Ngozi",
    "Olga",
    "Pedro",
];

const LATIN_LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Müller",
    "García",
    "Núñez",
    "O'Brien",
    "Kowalski",
    "Nakamura",
    "Rossi",
    "Dubois",
    "Jensen",
    "Novák",
    "Silva",
    "Schmidt",
    "Lefèvre",
    "Eriksson",
    "Papadopoulos",
    "Nguyen",
    "Kim",
    "Patel",
    "van der Berg",
    "D'Arcy",
    "Smith-Jones",
    "Okafor",
    "Ivanova",
];

/// Display names from other scripts and with awkward characters, each with an
/// email handle.
const INTL_NAMES: &[(&str, &str)] = &[
    ("山田 太郎", "taro.yamada"),
    ("佐藤 花子", "hanako.sato"),
    ("李小龙", "xiaolong.li"),
    ("王芳", "fang.wang"),
    ("김민수", "minsu.kim"),
    ("이서연", "seoyeon.lee"),
    ("محمد علي", "m.ali"),
    ("فاطمة الزهراء", "fatima.z"),
    ("דוד כהן", "david.cohen"),
    ("שרה לוי", "sarah.levi"),
    ("Иван Петров", "ivan.petrov"),
    ("Ελένη Παπαδοπούλου", "eleni.p"),
    ("राहुल शर्मा", "rahul.sharma"),
    ("Nguyễn Văn An", "an.nguyen"),
    ("Alex 🦀 Chen", "alex.chen"),
    ("Sam 👩‍💻 Lee", "sam.lee"),
    ("🎉 Party Bot", "party.bot"),
    ("Jimmy \"JJ\" O'Neil", "jj.oneil"),
    ("ACME\\svc-backup", "svc-backup"),
    ("  Padded Name  ", "padded"),
    ("Tab\tName", "tab.name"),
    ("Ünïcödé Ŭser", "unicode.user"),
    ("𝔉𝔯𝔞𝔨𝔱𝔲𝔯 Font", "fraktur"),
    ("Zoë \u{202e}desreveR", "zoe.r"),
    ("Σωκράτης", "socrates"),
    ("Ngũgĩ wa Thiong'o", "ngugi"),
];

pub(super) const TEAM_NAMES: &[&str] = &[
    "A Team",
    "Acme Corp",
    "Acme Corp (EU)",
    "株式会社サンプル",
    "فريق العمل",
    "צוות הפיתוח",
    "Team \"Alpha\"",
    "Ünïcödé GmbH",
];

pub(super) const TEAM_DOMAINS: &[&str] = &["acmecorp.com", "acme.example", "acme-eu.example"];

pub(super) const OUTSIDE_DOMAINS: &[&str] = &[
    "gmail.example",
    "partner.example",
    "outlook.example",
    "contractor.example",
    "müller.example",
    "例え.jp",
];

pub(super) const GROUP_NAMES: &[&str] = &[
    "Finance",
    "IT Department",
    "Engineering",
    "営業部",
    "Marketing 🚀",
    "Legal \"Core\"",
    "الموارد البشرية",
    "צוות פיתוח",
    "R&D <EU>",
    "Support\\Tier2",
    "Sales — EMEA",
    "Design/UX",
    "All Employees",
];

pub(super) const APP_NAMES: &[&str] = &[
    "Slack",
    "Zoom",
    "Microsoft Teams",
    "Salesforce",
    "Okta",
    "Backup Bot 🤖",
    "社内ツール",
    "Zapier",
    "Custom \"Sync\" App",
    "DocuSign",
];

const RESELLERS: &[(&str, &str)] = &[
    ("Reseller Inc", "ops@reseller.example"),
    ("Partner GmbH & Co. KG", "support@partner-gmbh.example"),
    ("リセラー株式会社", "sales@reseller-jp.example"),
];

pub(super) const ORG_TEAMS: &[&str] = &[
    "Org Team",
    "Acme Holdings",
    "株式会社サンプル",
    "Ünïcödé GmbH",
];

pub(super) const DOC_TITLES: &[&str] = &[
    "Meeting notes",
    "Q3 Planning",
    "会議メモ 2024",
    "Roadmap 🚀",
    "ملاحظات الاجتماع",
    "פרוטוקול ישיבה",
    "Budget \"final\" v2",
    "Notes\\drafts",
    "Résumé review",
    "Line one\nLine two",
    "Onboarding checklist",
];

/// (city, region, country code)
const PLACES: &[(&str, &str, &str)] = &[
    ("San Francisco", "California", "US"),
    ("New York", "New York", "US"),
    ("São Paulo", "São Paulo", "BR"),
    ("東京", "東京都", "JP"),
    ("Zürich", "Zurich", "CH"),
    ("القاهرة", "محافظة القاهرة", "EG"),
    ("תל אביב-יפו", "מחוז תל אביב", "IL"),
    ("München", "Bayern", "DE"),
    ("Montréal", "Québec", "CA"),
    ("Mumbai", "Maharashtra", "IN"),
    ("London", "England", "GB"),
    ("Kraków", "Lesser Poland", "PL"),
    ("Reykjavík", "Capital Region", "IS"),
    ("Seoul", "서울특별시", "KR"),
    ("Москва", "Москва", "RU"),
    ("Dublin", "Leinster", "IE"),
];

const DIRS: &[&str] = &[
    "/Projects",
    "/Team Folder",
    "/Finance/2024",
    "/Contract Work/Draft",
    "/レポート",
    "/Фото",
    "/مشاريع",
    "/פרויקטים",
    "/Marketing/Campaign 🚀",
    "/Legal/\"Confidential\"",
    "/Shared/C:\\temp",
    "/Home/Ünïcödé",
];

const FILES: &[&str] = &[
    "reports.xls",
    "Budget Q3.xlsx",
    "會議記錄.docx",
    "résumé.pdf",
    "photo 😀.png",
    "invoice\u{202e}fdp.exe",
    "notes.txt",
    "ملف.pdf",
    "קובץ.docx",
    "archive.tar.gz",
    "Draft (1).docx",
    "naïve café.md",
];

/// Free text for details values. The entries starting with `"` are JSON
/// already, to carry escapes a writer chose (`\u00e9` for é, `\u0000`).
const WORDS: &[&str] = &[
    "Quarterly report",
    "Please review 🙏",
    "LGTM",
    "He said \"ship it\"",
    "C:\\Users\\admin",
    "\"Caf\\u00e9 menu\"",
    "\"nul\\u0000byte\"",
    "تقرير ربع سنوي",
    "会議メモ",
    "Line one\nLine two",
    "Tab\tseparated",
    "emoji 😀 outside the BMP",
    "Ω≈ç√∫",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "50% done",
    "über",
    "mañana",
    "abc",
    "ok",
];

/// An ASCII email handle from a Latin name: accents folded, the rest dropped.
fn fold_ascii(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let folded = match c {
            'a'..='z' | '0'..='9' | '-' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            'á' | 'à' | 'ä' | 'å' | 'ã' => Some('a'),
            'é' | 'è' | 'ë' | 'ê' => Some('e'),
            'í' | 'ï' => Some('i'),
            'ó' | 'ö' | 'ø' | 'ô' => Some('o'),
            'ú' | 'ü' => Some('u'),
            'ç' => Some('c'),
            'ñ' => Some('n'),
            'ł' | 'Ł' => Some('l'),
            'ş' => Some('s'),
            _ => None,
        };
        out.extend(folded);
    }
    out
}

// ---------------------------------------------------------------------------
// Single draws

/// A display name and an ASCII email handle for it: a Latin name most of the
/// time, else one from another script or with awkward characters.
pub(super) fn person_name(rng: &mut Rng) -> (String, String) {
    if rng.below(10) < 6 {
        let first = *rng.pick(LATIN_FIRST);
        let last = *rng.pick(LATIN_LAST);
        let mut handle = format!("{}.{}", fold_ascii(first), fold_ascii(last));
        if rng.below(4) == 0 {
            let _ = write!(handle, "{}", rng.below(100));
        }
        (format!("{first} {last}"), handle)
    } else {
        let (display, handle) = *rng.pick(INTL_NAMES);
        (display.to_owned(), handle.to_owned())
    }
}

/// An address for `handle` at `domain`, now and then in capitals, with a
/// `+tag` or padded with spaces.
pub(super) fn email(rng: &mut Rng, handle: &str, domain: &str) -> String {
    match rng.below(100) {
        0..=2 => format!("{handle}@{domain}").to_uppercase(),
        3..=5 => format!("{handle}+dropbox@{domain}"),
        6 => format!(" {handle}@{domain} "),
        _ => format!("{handle}@{domain}"),
    }
}

/// A directory-sync id (Active Directory SID or `ext-N`) for two in five.
pub(super) fn external_id(rng: &mut Rng) -> Option<String> {
    match rng.below(10) {
        0..=1 => Some(format!(
            "ADSYNC S-1-5-21-{}-{}-{}-{}",
            rng.range(1_000_000_000, 4_294_967_295),
            rng.range(1_000_000_000, 4_294_967_295),
            rng.range(100_000_000, 999_999_999),
            rng.range(1000, 99_999)
        )),
        2..=3 => Some(format!("ext-{}", rng.below(100_000))),
        _ => None,
    }
}

/// A Dropbox path: a folder, sometimes a document title under it, a file name.
pub(super) fn path_string(rng: &mut Rng) -> String {
    let mut p = (*rng.pick(DIRS)).to_owned();
    if rng.below(3) == 0 {
        p.push('/');
        p.push_str(rng.pick(DOC_TITLES).trim());
    }
    p.push('/');
    p.push_str(rng.pick::<&str>(FILES));
    p
}

// ---------------------------------------------------------------------------
// Pools: the team's people, groups, apps and files, made once per seed

/// Prebuilt fragments, picked by events. A real team log names the same
/// people again and again, and copying prebuilt bytes keeps generation fast.
pub(super) struct Pools {
    /// `{".tag":"team_member",...}` user objects.
    members: Vec<Frag>,
    /// `{".tag":"non_team_member",...}` user objects.
    outsiders: Vec<Frag>,
    /// `{".tag":"trusted_non_team_member",...}` user objects.
    trusted: Vec<Frag>,
    /// Inlined participant groups `{".tag":"group","group_id":..}`.
    groups: Vec<Frag>,
    /// `{".tag":"team_linked_app"|"user_linked_app",...}` app objects.
    apps: Vec<Frag>,
    /// Inlined reseller actors.
    resellers: Vec<Frag>,
    /// `{".tag":"organization_team",...}` contexts.
    org_teams: Vec<Frag>,
    /// Any of the five asset shapes.
    pub(super) assets: Vec<Frag>,
    /// `,"city":..,"region":..,"country":..` tails of geo_location.
    pub(super) places: Vec<Frag>,
    /// Quoted strings for details holes.
    pub(super) emails: Vec<Frag>,
    pub(super) names: Vec<Frag>,
    pub(super) words: Vec<Frag>,
    pub(super) paths: Vec<Frag>,
}

/// Which pool a shape takes its value from (see [`Pools::draw`]).
#[derive(Debug, Clone, Copy)]
pub(super) enum Pick {
    Members,
    Outsiders,
    Trusted,
    /// Someone outside the team: trusted one time in five, else an outsider.
    NonMembers,
    Groups,
    Apps,
    Resellers,
    OrgTeams,
}

impl Pools {
    pub(super) fn new(rng: &mut Rng) -> Pools {
        let home_team = *rng.pick(TEAM_NAMES);
        let mut emails = Vec::new();
        let mut names = Vec::new();
        let members = (0..1500)
            .map(|_| {
                let user = shapes::member(rng, home_team);
                emails.push(Frag::string(&user.email));
                names.push(Frag::string(&user.display_name));
                user.frag()
            })
            .collect();
        let outsiders = (0..800)
            .map(|_| {
                let user = shapes::outsider(rng);
                emails.push(Frag::string(&user.email));
                user.frag()
            })
            .collect();
        let trusted = (0..40).map(|_| shapes::trusted(rng).frag()).collect();
        let groups = (0..60)
            .map(|_| {
                let (group, name) = shapes::group(rng);
                names.push(Frag::string(name));
                group
            })
            .collect();
        let apps = (0..30).map(|_| shapes::app(rng)).collect();
        let resellers = RESELLERS
            .iter()
            .map(|&(name, mail)| shapes::reseller(name, mail))
            .collect();
        let org_teams = ORG_TEAMS
            .iter()
            .map(|&name| shapes::org_team(name))
            .collect();
        let assets = (0..3000).map(|_| shapes::asset(rng)).collect();
        let places = PLACES
            .iter()
            .map(|&(city, region, country)| {
                Frag::build(|o, ascii| {
                    for (key, value) in [("city", city), ("region", region), ("country", country)] {
                        o.extend_from_slice(b",\"");
                        o.extend_from_slice(key.as_bytes());
                        o.extend_from_slice(b"\":");
                        push_str(o, value, ascii);
                    }
                })
            })
            .collect();
        names.extend(DOC_TITLES.iter().map(|t| Frag::string(t)));
        names.extend(APP_NAMES.iter().map(|t| Frag::string(t)));
        let words = WORDS
            .iter()
            .map(|w| {
                if w.starts_with('"') {
                    Frag::raw(w)
                } else {
                    Frag::string(w)
                }
            })
            .collect();
        let paths = (0..500).map(|_| Frag::string(&path_string(rng))).collect();
        Pools {
            members,
            outsiders,
            trusted,
            groups,
            apps,
            resellers,
            org_teams,
            assets,
            places,
            emails,
            names,
            words,
            paths,
        }
    }

    /// A member of the pool `pick` names.
    pub(super) fn draw(&self, rng: &mut Rng, pick: Pick) -> &Frag {
        let pool = match pick {
            Pick::Members => &self.members,
            Pick::Outsiders => &self.outsiders,
            Pick::Trusted => &self.trusted,
            Pick::NonMembers if rng.below(5) == 0 => &self.trusted,
            Pick::NonMembers => &self.outsiders,
            Pick::Groups => &self.groups,
            Pick::Apps => &self.apps,
            Pick::Resellers => &self.resellers,
            Pick::OrgTeams => &self.org_teams,
        };
        rng.pick(pool)
    }
}

//! The people and their institutions: the four state providers, the
//! Broker (VDAA), CERT.LV and VARAM, a dozen recipient institutions, about
//! thirty information systems, and one user for every role with a TOTP
//! second factor. `seed_demo` here runs every other part in order.

use makonis_app::{OpContext, Result};
use makonis_types::InstitutionId;
use makonis_types::information_system::{
    DataClassification as D, InformationSystemInput, Lifecycle, SecurityCategory as C,
};
use makonis_types::institution::{InstitutionInput, InstitutionKind as K};
use makonis_types::paging::PageRequest;
use makonis_types::roles::{NewRoleAssignment, Role};
use makonis_types::user::NewUserInput;
use serde::{Deserialize, Serialize};

use crate::{Seeder, sys_ctx};

/// The password of every demo account. Demo only: never use it elsewhere.
pub const DEMO_PASSWORD: &str = "demo-parole-2026";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub role: String,
    pub institution: Option<String>,
    /// Base32 TOTP secret to add to an authenticator app.
    pub totp_secret: String,
}

/// (short name, full name, kind, registration number)
const INSTITUTIONS: &[(&str, &str, K)] = &[
    (
        "LVRTC",
        "Latvijas Valsts radio un televīzijas centrs",
        K::Provider,
    ),
    ("LNB", "Latvijas Nacionālā bibliotēka", K::Provider),
    (
        "IeM IC",
        "Iekšlietu ministrijas Informācijas centrs",
        K::Provider,
    ),
    ("LAD", "Lauku atbalsta dienests", K::Provider),
    ("VDAA", "Valsts digitālās attīstības aģentūra", K::Broker),
    (
        "CERT.LV",
        "Informācijas tehnoloģiju drošības incidentu novēršanas institūcija CERT.LV",
        K::Security,
    ),
    (
        "VARAM",
        "Viedās administrācijas un reģionālās attīstības ministrija",
        K::PolicyOwner,
    ),
    ("VID", "Valsts ieņēmumu dienests", K::Recipient),
    ("UR", "Uzņēmumu reģistrs", K::Recipient),
    ("CSP", "Centrālā statistikas pārvalde", K::Recipient),
    ("NVD", "Nacionālais veselības dienests", K::Recipient),
    ("VZD", "Valsts zemes dienests", K::Recipient),
    (
        "PMLP",
        "Pilsonības un migrācijas lietu pārvalde",
        K::Recipient,
    ),
    (
        "VSAA",
        "Valsts sociālās apdrošināšanas aģentūra",
        K::Recipient,
    ),
    ("NVA", "Nodarbinātības valsts aģentūra", K::Recipient),
    ("TA", "Tiesu administrācija", K::Recipient),
    ("IZM", "Izglītības un zinātnes ministrija", K::Recipient),
    ("RD", "Rīgas valstspilsētas pašvaldība", K::Recipient),
    ("VP", "Valsts policija", K::Recipient),
];

/// (institution, code, name, category, critical, classification, RPO min, RTO min, embassy, lifecycle, responsible)
type SystemRow = (
    &'static str,
    &'static str,
    &'static str,
    C,
    bool,
    D,
    i64,
    i64,
    bool,
    Lifecycle,
    &'static str,
);

const SYSTEMS: &[SystemRow] = &[
    (
        "VID",
        "EDS",
        "Elektroniskās deklarēšanas sistēma",
        C::A,
        true,
        D::Restricted,
        15,
        240,
        true,
        Lifecycle::Production,
        "Anna Kalniņa",
    ),
    (
        "VID",
        "MIS",
        "Muitas informācijas sistēma",
        C::A,
        true,
        D::Restricted,
        15,
        240,
        true,
        Lifecycle::Production,
        "Jānis Ozols",
    ),
    (
        "VID",
        "NRS",
        "Nodokļu maksātāju reģistra sistēma",
        C::B,
        false,
        D::Restricted,
        60,
        480,
        false,
        Lifecycle::Production,
        "Līga Bērziņa",
    ),
    (
        "UR",
        "URIS",
        "Uzņēmumu reģistra informācijas sistēma",
        C::A,
        true,
        D::Public,
        15,
        240,
        true,
        Lifecycle::Production,
        "Māris Liepa",
    ),
    (
        "UR",
        "UR-EPAK",
        "Uzņēmumu reģistra e-pakalpojumi",
        C::B,
        false,
        D::Public,
        60,
        480,
        false,
        Lifecycle::Production,
        "Inese Zariņa",
    ),
    (
        "CSP",
        "VSPDS",
        "Vienotā statistikas datu pārvaldības sistēma",
        C::B,
        false,
        D::Restricted,
        240,
        1440,
        false,
        Lifecycle::Production,
        "Pēteris Krūmiņš",
    ),
    (
        "CSP",
        "OSP",
        "Oficiālās statistikas portāls",
        C::C,
        false,
        D::Public,
        1440,
        2880,
        false,
        Lifecycle::Production,
        "Dace Vītola",
    ),
    (
        "NVD",
        "EVESELIBA",
        "E-veselības sistēma",
        C::A,
        true,
        D::Restricted,
        5,
        120,
        true,
        Lifecycle::Production,
        "Ilze Kalna",
    ),
    (
        "NVD",
        "VMIS",
        "Vadības informācijas sistēma",
        C::B,
        false,
        D::Restricted,
        240,
        1440,
        false,
        Lifecycle::Production,
        "Andris Egle",
    ),
    (
        "VZD",
        "NIVKIS",
        "Nekustamā īpašuma valsts kadastra informācijas sistēma",
        C::A,
        true,
        D::Restricted,
        15,
        240,
        true,
        Lifecycle::Production,
        "Gunta Auziņa",
    ),
    (
        "VZD",
        "VAR",
        "Valsts adrešu reģistrs",
        C::B,
        true,
        D::Public,
        60,
        480,
        true,
        Lifecycle::Production,
        "Raimonds Lapiņš",
    ),
    (
        "VZD",
        "KADPORT",
        "Kadastra portāls kadastrs.lv",
        C::C,
        false,
        D::Public,
        1440,
        2880,
        false,
        Lifecycle::Production,
        "Sanita Ābele",
    ),
    (
        "PMLP",
        "IR",
        "Iedzīvotāju reģistrs",
        C::A,
        true,
        D::Restricted,
        5,
        120,
        true,
        Lifecycle::Production,
        "Edgars Sils",
    ),
    (
        "PMLP",
        "VVIS",
        "Vīzu informācijas sistēma",
        C::A,
        true,
        D::Restricted,
        15,
        240,
        true,
        Lifecycle::Production,
        "Kristīne Mežs",
    ),
    (
        "PMLP",
        "PMLP-PORT",
        "PMLP klientu portāls",
        C::C,
        false,
        D::Public,
        1440,
        2880,
        false,
        Lifecycle::Development,
        "Oskars Rudzītis",
    ),
    (
        "VSAA",
        "SAIS",
        "Sociālās apdrošināšanas informācijas sistēma",
        C::A,
        true,
        D::Restricted,
        15,
        240,
        true,
        Lifecycle::Production,
        "Baiba Siliņa",
    ),
    (
        "VSAA",
        "VSAA-EPAK",
        "VSAA e-pakalpojumi",
        C::B,
        false,
        D::Restricted,
        60,
        480,
        false,
        Lifecycle::Production,
        "Rolands Vanags",
    ),
    (
        "NVA",
        "BURVIS",
        "Bezdarbnieku uzskaites un reģistrēto vakanču informācijas sistēma",
        C::B,
        false,
        D::Restricted,
        240,
        1440,
        false,
        Lifecycle::Production,
        "Aija Kļaviņa",
    ),
    (
        "NVA",
        "CVVP",
        "CV un vakanču portāls",
        C::C,
        false,
        D::Public,
        1440,
        2880,
        false,
        Lifecycle::Production,
        "Toms Priede",
    ),
    (
        "TA",
        "TIS",
        "Tiesu informatīvā sistēma",
        C::A,
        true,
        D::Restricted,
        15,
        240,
        true,
        Lifecycle::Production,
        "Zane Riekstiņa",
    ),
    (
        "TA",
        "ZEMESGR",
        "Valsts vienotā datorizētā zemesgrāmata",
        C::A,
        true,
        D::Restricted,
        15,
        240,
        true,
        Lifecycle::Production,
        "Uldis Strods",
    ),
    (
        "TA",
        "ELIETA",
        "E-lietas platforma",
        C::A,
        false,
        D::Restricted,
        60,
        480,
        false,
        Lifecycle::Development,
        "Evija Putniņa",
    ),
    (
        "IZM",
        "VIIS",
        "Valsts izglītības informācijas sistēma",
        C::B,
        false,
        D::Restricted,
        240,
        1440,
        false,
        Lifecycle::Production,
        "Mārtiņš Kalniņš",
    ),
    (
        "IZM",
        "NIS",
        "Nacionālā zinātniskās darbības informācijas sistēma",
        C::C,
        false,
        D::Public,
        1440,
        2880,
        false,
        Lifecycle::Planned,
        "Laura Grīnberga",
    ),
    (
        "RD",
        "RLIS",
        "Rīgas pašvaldības lietvedības sistēma",
        C::C,
        false,
        D::Restricted,
        1440,
        2880,
        false,
        Lifecycle::Production,
        "Artis Celms",
    ),
    (
        "RD",
        "RSPIS",
        "Rīgas sociālo pakalpojumu informācijas sistēma",
        C::B,
        false,
        D::Restricted,
        240,
        1440,
        false,
        Lifecycle::Production,
        "Vita Jansone",
    ),
    (
        "VP",
        "VPIS",
        "Valsts policijas informācijas sistēma",
        C::A,
        true,
        D::Classified,
        5,
        60,
        true,
        Lifecycle::Production,
        "Normunds Bērziņš",
    ),
    (
        "VP",
        "CSNG",
        "Ceļu satiksmes negadījumu reģistrs",
        C::B,
        false,
        D::Restricted,
        240,
        1440,
        false,
        Lifecycle::Production,
        "Agnese Liepiņa",
    ),
    (
        "VDAA",
        "LATVIJA-LV",
        "Valsts pārvaldes pakalpojumu portāls Latvija.lv",
        C::A,
        true,
        D::Public,
        15,
        120,
        true,
        Lifecycle::Production,
        "Ritvars Eglītis",
    ),
    (
        "VDAA",
        "VISS",
        "Valsts informācijas sistēmu savietotājs",
        C::A,
        true,
        D::Restricted,
        5,
        60,
        true,
        Lifecycle::Production,
        "Santa Ozoliņa",
    ),
    (
        "IeM IC",
        "SODU",
        "Sodu reģistrs",
        C::A,
        true,
        D::Restricted,
        15,
        240,
        true,
        Lifecycle::Production,
        "Valdis Kārkliņš",
    ),
    (
        "LNB",
        "DIGLIB",
        "Latvijas Nacionālā digitālā bibliotēka",
        C::C,
        false,
        D::Public,
        1440,
        4320,
        false,
        Lifecycle::Production,
        "Elīna Krastiņa",
    ),
    (
        "LAD",
        "LADEPS",
        "LAD Elektroniskā pieteikšanās sistēma",
        C::B,
        false,
        D::Restricted,
        240,
        1440,
        false,
        Lifecycle::Production,
        "Gints Zvirbulis",
    ),
];

/// (email, display name, home institution, role, role scope institution)
type UserRow = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Role,
    Option<&'static str>,
);

const USERS: &[UserRow] = &[
    (
        "admin@makonis.lv",
        "Platformas administrators",
        None,
        Role::PlatformAdmin,
        None,
    ),
    (
        "brokeris@vdaa.gov.lv",
        "Kārlis Brokeris (VDAA)",
        Some("VDAA"),
        Role::Broker,
        None,
    ),
    (
        "drosiba@cert.lv",
        "Sandra Drošība (CERT.LV)",
        Some("CERT.LV"),
        Role::SecurityOfficer,
        None,
    ),
    (
        "revidents@varam.gov.lv",
        "Roberts Revidents (VARAM)",
        Some("VARAM"),
        Role::Auditor,
        None,
    ),
    (
        "glabatajs@vdaa.gov.lv",
        "Gita Glabātāja (VDAA)",
        Some("VDAA"),
        Role::EmbassyCustodian,
        None,
    ),
    (
        "operators@lvrtc.lv",
        "Oskars Operators (LVRTC)",
        Some("LVRTC"),
        Role::ProviderOperator,
        Some("LVRTC"),
    ),
    (
        "admin@vid.gov.lv",
        "Ieva Administratore (VID)",
        Some("VID"),
        Role::InstitutionAdmin,
        Some("VID"),
    ),
    (
        "parzinis@vid.gov.lv",
        "Pauls Pārzinis (VID)",
        Some("VID"),
        Role::IsOwner,
        Some("VID"),
    ),
    (
        "darbinieks@vid.gov.lv",
        "Dina Darbiniece (VID)",
        Some("VID"),
        Role::Member,
        Some("VID"),
    ),
    (
        "revidents@vid.gov.lv",
        "Rita Revidente (VID)",
        Some("VID"),
        Role::Auditor,
        Some("VID"),
    ),
    (
        "drosiba@vid.gov.lv",
        "Sergejs Drošībnieks (VID)",
        Some("VID"),
        Role::SecurityOfficer,
        Some("VID"),
    ),
    (
        "admin@pmlp.gov.lv",
        "Agris Administrators (PMLP)",
        Some("PMLP"),
        Role::InstitutionAdmin,
        Some("PMLP"),
    ),
    (
        "darbinieks@pmlp.gov.lv",
        "Pēteris Darbinieks (PMLP)",
        Some("PMLP"),
        Role::Member,
        Some("PMLP"),
    ),
];

impl Seeder {
    /// Seeds the demo federation unless the database already holds
    /// institutions. Returns the demo logins when it seeded.
    pub async fn seed_demo(&self) -> Result<Option<Vec<DemoLogin>>> {
        let ctx = sys_ctx();
        if self
            .app
            .list_institutions(
                &ctx,
                None,
                PageRequest {
                    limit: Some(1),
                    offset: None,
                },
            )
            .await?
            .total
            > 0
        {
            return Ok(None);
        }
        let mut ids: Vec<(&str, InstitutionId)> = Vec::new();
        for (short, name, kind) in INSTITUTIONS {
            let created = self
                .app
                .create_institution(
                    &ctx,
                    &InstitutionInput {
                        name: (*name).into(),
                        short_name: (*short).into(),
                        registration_number: None,
                        kind: *kind,
                    },
                )
                .await?;
            ids.push((short, created.id));
        }
        let id_of = |short: &str| {
            ids.iter()
                .find(|(s, _)| *s == short)
                .map(|(_, id)| *id)
                .expect("seeded")
        };
        for (inst, code, name, category, critical, class, rpo, rto, embassy, lifecycle, person) in
            SYSTEMS
        {
            self.app
                .create_information_system(
                    &ctx,
                    id_of(inst),
                    &InformationSystemInput {
                        code: (*code).into(),
                        name: (*name).into(),
                        description: None,
                        responsible_person: (*person).into(),
                        responsible_email: None,
                        security_category: *category,
                        critical_infrastructure: *critical,
                        data_classification: *class,
                        rpo_minutes: *rpo,
                        rto_minutes: *rto,
                        embassy_required: *embassy,
                        lifecycle: *lifecycle,
                    },
                )
                .await?;
        }
        self.seed_demo_catalogue(&ctx, &|short| {
            ids.iter().find(|(s, _)| *s == short).map(|(_, id)| *id)
        })
        .await?;
        let mut logins = Vec::new();
        for (email, display, home, role, scope) in USERS {
            let created = self
                .app
                .create_user(
                    &ctx,
                    &NewUserInput {
                        email: (*email).into(),
                        display_name: (*display).into(),
                        institution_id: home.map(id_of),
                        password: DEMO_PASSWORD.into(),
                        roles: vec![NewRoleAssignment {
                            role: *role,
                            institution_id: scope.map(id_of),
                        }],
                    },
                )
                .await?;
            let secret = totp_rs::Secret::generate_secret();
            let bytes = secret.to_bytes().map_err(makonis_app::Error::internal)?;
            self.app
                .enrol_totp_as_system(&ctx, created.user.id, &bytes)
                .await?;
            logins.push(DemoLogin {
                email: (*email).into(),
                password: DEMO_PASSWORD.into(),
                role: role.as_str().into(),
                institution: scope.or(*home).map(str::to_owned),
                totp_secret: secret.to_encoded().to_string(),
            });
        }
        self.seed_demo_orders().await?;
        self.seed_demo_embassy().await?;
        let state = self.app.config().state_dir.clone();
        self.seed_demo_costs(state.as_deref()).await?;
        Ok(Some(logins))
    }

    /// A seeded person as an operation context, to act as them.
    pub(crate) async fn demo_person(&self, email: &str) -> Result<OpContext> {
        let page = self
            .app
            .list_users(
                &sys_ctx(),
                Some(email),
                PageRequest {
                    limit: Some(5),
                    offset: None,
                },
            )
            .await?;
        let user = page
            .items
            .into_iter()
            .find(|u| u.email == email)
            .ok_or(makonis_app::Error::NotFound { kind: "user" })?;
        let roles = self.app.get_user(&sys_ctx(), user.id).await?.roles;
        Ok(OpContext {
            actor: makonis_app::Actor::User {
                user,
                roles,
                token_scope: None,
            },
            request_id: "demo-seed".into(),
        })
    }
}

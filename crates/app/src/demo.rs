//! Demo data (issue 2 §10): the federation as the sources describe it. The
//! four state providers (LVRTC, LNB, IeM IC, LAD) and the Broker (VDAA),
//! CERT.LV and VARAM as institutions; a dozen recipient institutions; about
//! thirty information systems across security categories; and one user for
//! every role, each with a TOTP second factor. Seeding goes through the
//! same use cases as everything else, as the system actor, so it is audited.

use makonis_types::InstitutionId;
use makonis_types::information_system::{
    DataClassification as D, InformationSystemInput, Lifecycle, SecurityCategory as C,
};
use makonis_types::institution::{InstitutionInput, InstitutionKind as K};
use makonis_types::paging::PageRequest;
use makonis_types::roles::{NewRoleAssignment, Role};
use makonis_types::user::NewUserInput;
use serde::{Deserialize, Serialize};

use makonis_types::catalogue::{
    BillingUnit, OfferingInput, OfferingKind, PriceItem, PriceListInput, ServiceTier, Sla,
    SupportHours,
};
use makonis_types::federation::{
    CertificationInput, CertificationKind, PlatformFamily, ProviderInput, ProviderKind, SiteId,
    SiteInput,
};

use crate::{App, OpContext, Result};

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

impl App {
    /// Seeds the demo federation unless the database already holds
    /// institutions. Returns the demo logins when it seeded.
    pub async fn seed_demo(&self) -> Result<Option<Vec<DemoLogin>>> {
        let ctx = OpContext::system("demo-seed");
        if self
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
            self.create_information_system(
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
            let bytes = secret.to_bytes().map_err(crate::Error::internal)?;
            self.enrol_totp_as_system(&ctx, created.user.id, &bytes)
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
        let state = self.config().state_dir.clone();
        self.seed_demo_costs(state.as_deref()).await?;
        Ok(Some(logins))
    }

    /// A seeded person as an operation context, to act as them.
    pub(crate) async fn demo_person(&self, email: &str) -> Result<OpContext> {
        let page = self
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
            .ok_or(crate::Error::NotFound { kind: "user" })?;
        let roles = self.get_user(&sys_ctx(), user.id).await?.roles;
        Ok(OpContext {
            actor: crate::Actor::User {
                user,
                roles,
                token_scope: None,
            },
            request_id: "demo-seed".into(),
        })
    }

    /// Two orders as the seeded people would place them: VID's member orders
    /// VMs for EDS (category A: waits for four eyes) and for NRS (approved
    /// by the IS owner, so a draft agreement with LVRTC waits for signatures).
    async fn seed_demo_orders(&self) -> Result<()> {
        let sys = OpContext::system("demo-seed");
        let member = self.demo_person("darbinieks@vid.gov.lv").await?;
        let owner = self.demo_person("parzinis@vid.gov.lv").await?;
        let find_system = |code: &'static str| async move {
            let page = self
                .list_information_systems(
                    &sys_ctx(),
                    &makonis_types::information_system::InformationSystemFilter {
                        q: Some(code.into()),
                        ..Default::default()
                    },
                    PageRequest::default(),
                )
                .await?;
            page.items
                .into_iter()
                .find(|s| s.code == code)
                .ok_or(crate::Error::NotFound {
                    kind: "information system",
                })
        };
        let today = chrono::Utc::now().date_naive();
        let vms = self
            .search_catalogue(
                &sys,
                &makonis_types::catalogue::CatalogueFilter {
                    kind: Some(OfferingKind::Vm),
                    ..Default::default()
                },
                today,
                PageRequest {
                    limit: Some(500),
                    offset: None,
                },
            )
            .await?;
        let medium = vms
            .items
            .iter()
            .find(|e| {
                e.provider_short_name == "LVRTC"
                    && e.site_name == "Zaķusala"
                    && e.offering.name.starts_with("m1.medium")
            })
            .ok_or(crate::Error::NotFound { kind: "offering" })?
            .offering
            .id;
        let eds = find_system("EDS").await?;
        let nrs = find_system("NRS").await?;
        let order = |system, quantity, note: &str| makonis_types::order::NewOrderInput {
            information_system_id: system,
            offering_id: medium,
            quantity,
            note: Some(note.to_owned()),
            submit: true,
        };
        self.create_order(
            &member,
            &order(
                eds.id,
                2,
                "EDS lietojumserveri 2027. gada deklarēšanas sezonai",
            ),
        )
        .await?;
        let nrs_order = self
            .create_order(&member, &order(nrs.id, 1, "NRS testa vide"))
            .await?;
        self.decide_order(
            &owner,
            nrs_order.order.id,
            &makonis_types::order::DecisionInput {
                decision: makonis_types::order::Decision::Approve,
                reason: Some("Budžetā paredzēts".into()),
            },
        )
        .await?;
        Ok(())
    }
}

fn sys_ctx() -> OpContext {
    OpContext::system("demo-seed")
}

/// (short name, name, institution, kind, platform)
const PROVIDERS: &[(&str, &str, Option<&str>, ProviderKind, PlatformFamily)] = &[
    (
        "LVRTC",
        "LVRTC valsts mākonis",
        Some("LVRTC"),
        ProviderKind::State,
        PlatformFamily::OpenStack,
    ),
    (
        "LNB",
        "LNB datu centrs",
        Some("LNB"),
        ProviderKind::State,
        PlatformFamily::VMware,
    ),
    (
        "IeM IC",
        "IeM IC valsts mākonis",
        Some("IeM IC"),
        ProviderKind::State,
        PlatformFamily::VMware,
    ),
    (
        "LAD",
        "LAD datu centrs",
        Some("LAD"),
        ProviderKind::State,
        PlatformFamily::Nutanix,
    ),
    (
        "EuroCloud",
        "EuroCloud GmbH (komercmākonis)",
        None,
        ProviderKind::Commercial,
        PlatformFamily::AwsCompatible,
    ),
];

/// (provider, site, country, latitude, longitude, tier)
const SITES: &[(&str, &str, &str, f64, f64, i64)] = &[
    ("LVRTC", "Zaķusala", "LV", 56.9353, 24.1190, 3),
    ("LVRTC", "Ulbroka", "LV", 56.9406, 24.2850, 3),
    ("LNB", "Mūkusala", "LV", 56.9386, 24.0970, 3),
    ("IeM IC", "Rīga-1", "LV", 56.9530, 24.1330, 3),
    ("IeM IC", "Rīga-2", "LV", 56.9670, 24.1620, 3),
    ("LAD", "Republikas laukums", "LV", 56.9560, 24.1210, 2),
    ("EuroCloud", "Frankfurt", "DE", 50.1109, 8.6821, 4),
];

/// (name, kind, tier, vcpu, ram, storage, unit, availability, rpo, rto, 2026 price)
type OfferingRow = (
    &'static str,
    OfferingKind,
    ServiceTier,
    i64,
    i64,
    i64,
    BillingUnit,
    &'static str,
    Option<i64>,
    Option<i64>,
    &'static str,
);

const OFFERINGS: &[OfferingRow] = &[
    (
        "m1.small (2 vCPU, 4 GB)",
        OfferingKind::Vm,
        ServiceTier::Basic,
        2,
        4,
        40,
        BillingUnit::InstanceHour,
        "99.9",
        None,
        None,
        "0.0210",
    ),
    (
        "m1.medium (4 vCPU, 8 GB)",
        OfferingKind::Vm,
        ServiceTier::Basic,
        4,
        8,
        80,
        BillingUnit::InstanceHour,
        "99.95",
        None,
        None,
        "0.0420",
    ),
    (
        "m1.large (8 vCPU, 32 GB)",
        OfferingKind::Vm,
        ServiceTier::Basic,
        8,
        32,
        160,
        BillingUnit::InstanceHour,
        "99.95",
        None,
        None,
        "0.1150",
    ),
    (
        "Bloka disks SSD",
        OfferingKind::Volume,
        ServiceTier::Basic,
        0,
        0,
        1,
        BillingUnit::GbMonth,
        "99.95",
        None,
        None,
        "0.0800",
    ),
    (
        "Objektu krātuve S3",
        OfferingKind::Bucket,
        ServiceTier::Basic,
        0,
        0,
        1,
        BillingUnit::GbMonth,
        "99.9",
        None,
        None,
        "0.0200",
    ),
    (
        "PostgreSQL pārvaldīta",
        OfferingKind::Database,
        ServiceTier::Basic,
        2,
        8,
        100,
        BillingUnit::InstanceHour,
        "99.95",
        Some(5),
        Some(60),
        "0.1400",
    ),
    (
        "Rezerves kopēšana",
        OfferingKind::Backup,
        ServiceTier::Basic,
        0,
        0,
        1,
        BillingUnit::GbMonth,
        "99.9",
        Some(1440),
        Some(480),
        "0.0150",
    ),
    (
        "Kubernetes mezgls",
        OfferingKind::Kubernetes,
        ServiceTier::Basic,
        4,
        16,
        100,
        BillingUnit::InstanceHour,
        "99.9",
        None,
        None,
        "0.0700",
    ),
    (
        "IS uzturēšana (speciālists)",
        OfferingKind::Specialised,
        ServiceTier::Specialised,
        0,
        0,
        0,
        BillingUnit::PersonHour,
        "99.0",
        None,
        None,
        "45.00",
    ),
];

/// (site, kind, level, issuer, days valid from today)
type CertRow = (
    Option<SiteId>,
    CertificationKind,
    Option<&'static str>,
    &'static str,
    i64,
);

impl App {
    /// Providers, sites, certifications, offerings and two price-list
    /// versions. Certificate dates are relative to today so the demo shows
    /// a lapsed certificate (IeM IC Rīga-2's ISO 27001) and one about to
    /// expire (LVRTC's).
    async fn seed_demo_catalogue(
        &self,
        ctx: &OpContext,
        institution: &dyn Fn(&str) -> Option<InstitutionId>,
    ) -> Result<()> {
        let today = chrono::Utc::now().date_naive();
        let days = |n: i64| today + chrono::Duration::days(n);
        for (short, name, inst, kind, platform) in PROVIDERS {
            let provider = self
                .create_provider(
                    ctx,
                    &ProviderInput {
                        name: (*name).into(),
                        short_name: (*short).into(),
                        institution_id: inst.and_then(institution),
                        kind: *kind,
                        platform: *platform,
                        // Shaped like the real provider, run by the simulator.
                        endpoint: Some("sim://local?delay_ms=3000&capacity=400".into()),
                        credentials: None,
                    },
                )
                .await?;
            let mut sites = Vec::new();
            for (_, site, country, lat, lon, tier) in SITES.iter().filter(|s| s.0 == *short) {
                sites.push(
                    self.add_site(
                        ctx,
                        provider.id,
                        &SiteInput {
                            name: (*site).into(),
                            country: (*country).into(),
                            latitude: *lat,
                            longitude: *lon,
                            uptime_tier: *tier,
                        },
                    )
                    .await?,
                );
            }
            let commercial = *kind == ProviderKind::Commercial;
            let mut certs: Vec<CertRow> = vec![
                (
                    None,
                    CertificationKind::Iso27001,
                    None,
                    "LATAK",
                    if *short == "LVRTC" { 45 } else { 500 },
                ),
                (
                    None,
                    CertificationKind::Eucs,
                    Some(if commercial { "high" } else { "substantial" }),
                    "ENISA",
                    700,
                ),
            ];
            for site in &sites {
                certs.push((
                    Some(site.id),
                    CertificationKind::UptimeTier,
                    Some(if site.uptime_tier >= 4 {
                        "IV"
                    } else if site.uptime_tier == 3 {
                        "III"
                    } else {
                        "II"
                    }),
                    "Uptime Institute",
                    900,
                ));
            }
            if !commercial {
                certs.push((
                    None,
                    CertificationKind::NationalB,
                    None,
                    "Satversmes aizsardzības birojs",
                    600,
                ));
                if matches!(*short, "LVRTC" | "IeM IC") {
                    certs.push((
                        None,
                        CertificationKind::NationalA,
                        None,
                        "Satversmes aizsardzības birojs",
                        600,
                    ));
                    certs.push((
                        None,
                        CertificationKind::NationalCritical,
                        None,
                        "Satversmes aizsardzības birojs",
                        600,
                    ));
                }
            }
            for (site, kind, level, issuer, valid_days) in certs {
                // IeM IC's second site runs under a separate ISO certificate that lapsed.
                let (site, until) = if *short == "IeM IC" && kind == CertificationKind::Iso27001 {
                    (sites.first().map(|s| s.id), days(valid_days))
                } else {
                    (site, days(valid_days))
                };
                self.add_certification(
                    ctx,
                    provider.id,
                    &CertificationInput {
                        site_id: site,
                        kind,
                        level: level.map(str::to_owned),
                        issuer: issuer.into(),
                        valid_from: days(-700),
                        valid_until: until,
                    },
                )
                .await?;
            }
            if *short == "IeM IC"
                && let Some(second) = sites.get(1)
            {
                self.add_certification(
                    ctx,
                    provider.id,
                    &CertificationInput {
                        site_id: Some(second.id),
                        kind: CertificationKind::Iso27001,
                        level: None,
                        issuer: "LATAK".into(),
                        valid_from: days(-1000),
                        valid_until: days(-265),
                    },
                )
                .await?;
            }
            let mut items_2026 = Vec::new();
            let mut items_next = Vec::new();
            // Commercial prices differ: cheaper compute, dearer egress-heavy storage.
            let factor: rust_decimal::Decimal = if commercial {
                "0.85".parse().unwrap_or_default()
            } else {
                rust_decimal::Decimal::ONE
            };
            for site in &sites {
                for (name, okind, tier, vcpu, ram, storage, unit, availability, rpo, rto, price) in
                    OFFERINGS
                {
                    if commercial && *okind == OfferingKind::Specialised {
                        continue;
                    }
                    let offering = self
                        .create_offering(
                            ctx,
                            provider.id,
                            &OfferingInput {
                                site_id: site.id,
                                kind: *okind,
                                tier: *tier,
                                name: (*name).into(),
                                description: None,
                                vcpu: *vcpu,
                                ram_gb: *ram,
                                storage_gb: *storage,
                                unit: *unit,
                                sla: Sla {
                                    availability_pct: availability
                                        .parse()
                                        .unwrap_or(rust_decimal::Decimal::ONE_HUNDRED),
                                    support_hours: if commercial || *short == "LVRTC" {
                                        SupportHours::Always
                                    } else {
                                        SupportHours::Business
                                    },
                                    response_minutes: if commercial { 15 } else { 60 },
                                    rpo_minutes: *rpo,
                                    rto_minutes: *rto,
                                },
                                capacity_units: if *unit == BillingUnit::GbMonth {
                                    500_000
                                } else {
                                    400
                                },
                                active: true,
                            },
                        )
                        .await?;
                    let base: rust_decimal::Decimal = price.parse().unwrap_or_default();
                    let unit_price = (base * factor).round_dp(6);
                    items_2026.push(PriceItem {
                        offering_id: offering.id,
                        unit_price,
                    });
                    items_next.push(PriceItem {
                        offering_id: offering.id,
                        unit_price: (unit_price
                            * "1.04".parse::<rust_decimal::Decimal>().unwrap_or_default())
                        .round_dp(6),
                    });
                }
            }
            let year = today
                .format("%Y")
                .to_string()
                .parse::<i32>()
                .unwrap_or(2026);
            let start = chrono::NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today);
            let end = chrono::NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(today);
            self.create_price_list(
                ctx,
                provider.id,
                &PriceListInput {
                    version: format!("{year}-1"),
                    valid_from: start,
                    valid_until: Some(end),
                    currency: "EUR".into(),
                    items: items_2026,
                },
            )
            .await?;
            self.create_price_list(
                ctx,
                provider.id,
                &PriceListInput {
                    version: format!("{}-1", year + 1),
                    valid_from: end + chrono::Duration::days(1),
                    valid_until: None,
                    currency: "EUR".into(),
                    items: items_next,
                },
            )
            .await?;
        }
        Ok(())
    }
}

/// (IS code, age of its latest primary snapshot in minutes): EDS is fresh,
/// MIS's backups stopped three hours ago, so the registry shows an alert.
const EMBASSY_SYSTEMS: &[(&str, i64)] = &[("EDS", 5), ("MIS", 180)];

impl App {
    /// The data embassy in the demo: an eligible site in Luxembourg (the
    /// Estonian data embassy's country, 1 068 km from the nearest Russian border point),
    /// a primary repository in Latvia for EDS and MIS with a backup of
    /// sample registry data, protection, one replication each and a drill
    /// for EDS. Repositories live under `state_dir/embassy`; the passwords
    /// are random and sealed, reachable only through a four-eyes grant.
    pub(crate) async fn seed_demo_embassy(&self) -> Result<()> {
        let Some(state) = self.config().state_dir.clone() else {
            return Ok(());
        };
        let sys = sys_ctx();
        let euro = self
            .list_providers(&sys)
            .await?
            .into_iter()
            .find(|p| p.short_name == "EuroCloud")
            .ok_or(crate::Error::NotFound { kind: "provider" })?;
        let site = self
            .add_site(
                &sys,
                euro.id,
                &SiteInput {
                    name: "Luxembourg (datu vēstniecība)".into(),
                    country: "LU".into(),
                    latitude: 49.6116,
                    longitude: 6.1319,
                    uptime_tier: 4,
                },
            )
            .await?;
        let today = chrono::Utc::now().date_naive();
        self.add_certification(
            &sys,
            euro.id,
            &CertificationInput {
                site_id: Some(site.id),
                kind: CertificationKind::UptimeTier,
                level: Some("IV".into()),
                issuer: "Uptime Institute".into(),
                valid_from: today - chrono::Duration::days(200),
                valid_until: today + chrono::Duration::days(900),
            },
        )
        .await?;
        let systems = self
            .list_information_systems(
                &sys,
                &Default::default(),
                PageRequest {
                    limit: Some(500),
                    offset: None,
                },
            )
            .await?
            .items;
        for (code, age_minutes) in EMBASSY_SYSTEMS {
            let Some(system) = systems.iter().find(|s| s.code == *code) else {
                continue;
            };
            let root = state.join("embassy").join(code);
            let (primary, replica, data) = (
                root.join("primary"),
                root.join("replica"),
                root.join("data"),
            );
            let primary_password = crate::authn::random_secret();
            let replica_password = crate::authn::random_secret();
            let (pw, when) = (
                primary_password.clone(),
                chrono::Utc::now() - chrono::Duration::minutes(*age_minutes),
            );
            let (p, d, code_owned) = (primary.clone(), data.clone(), (*code).to_owned());
            tokio::task::spawn_blocking(move || demo_primary(&p, &d, &pw, &code_owned, when))
                .await
                .map_err(crate::Error::internal)?
                .map_err(|e| crate::Error::internal(format!("demo embassy repository: {e}")))?;
            self.protect_system(
                &sys,
                system.id,
                &makonis_types::embassy::ProtectionInput {
                    site_id: site.id,
                    primary_location: primary.display().to_string(),
                    replica_location: replica.display().to_string(),
                    primary_password,
                    replica_password,
                    hot_interval_minutes: 15,
                    drill_interval_days: 30,
                    latency_ms: Some(38),
                    cold_location: None,
                    cold_retain_days: 90,
                    cold_interval_days: 7,
                    s3: None,
                },
            )
            .await?;
            self.replicate_system(&sys, system.id).await?;
            if *code == "EDS" {
                self.run_drill(&sys, system.id).await?;
            }
        }
        Ok(())
    }
}

/// A primary repository with one snapshot of sample registry data.
fn demo_primary(
    repo_dir: &std::path::Path,
    data: &std::path::Path,
    password: &str,
    code: &str,
    time: chrono::DateTime<chrono::Utc>,
) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    std::fs::create_dir_all(data)?;
    let mut rows = String::from("id,deklarācija,summa_eur,iesniegta\n");
    for i in 0..20_000u32 {
        rows.push_str(&format!(
            "{i},{code}-{:06},{}.{:02},2026-{:02}-{:02}\n",
            i * 7 % 999_983,
            (i * 37) % 10_000,
            i % 100,
            i % 12 + 1,
            i % 28 + 1
        ));
    }
    std::fs::write(data.join("deklaracijas.csv"), rows)?;
    std::fs::write(
        data.join("README.txt"),
        format!("{code}: sample data for the Mākonis demo's data embassy.\n"),
    )?;
    let repo = makonis_embassy::Repository::init(
        std::sync::Arc::new(makonis_embassy::LocalBackend::new(repo_dir)),
        password,
        makonis_embassy::InitOptions::default(),
    )?;
    makonis_embassy::ops::backup(
        &repo,
        &[data.to_owned()],
        &makonis_embassy::ops::BackupOptions {
            time: Some(time),
            ..Default::default()
        },
        &makonis_embassy::NoProgress,
    )?;
    Ok(())
}

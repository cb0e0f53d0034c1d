//! The FOCUS 1.2 data model: column names, the spec's allowed values, and one
//! typed [`FocusRecord`] per row of a cost and usage dataset.
//!
//! Column names and allowed values follow the FinOps Foundation's FOCUS 1.2
//! specification (CostAndUsage dataset). Money and quantities are
//! [`rust_decimal::Decimal`]; date-times are UTC. A `None` is a FOCUS null
//! (an empty CSV field).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// The 21 columns FOCUS 1.2 requires in every CostAndUsage dataset, in the
/// order the writer emits them.
pub const MANDATORY_COLUMNS: [&str; 21] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
];

/// Conditional and recommended columns this crate reads (when present) and
/// writes. Any other column (e.g. a provider's `x_` extension) is ignored.
pub const OPTIONAL_COLUMNS: [&str; 22] = [
    "BillingAccountType",
    "ChargeFrequency",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedUnitPrice",
    "InvoiceId",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "RegionId",
    "RegionName",
    "AvailabilityZone",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceSubcategory",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
];

macro_rules! focus_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every allowed value, in the spec's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value exactly as FOCUS spells it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the spec's exact spelling (case-sensitive, as the spec is).
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// "one of A, B, C" for error messages.
            pub fn expected() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!("one of {}", names.join(", "))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

focus_enum!(
    /// ChargeCategory: the highest-level classification of a charge.
    ChargeCategory {
        Usage => "Usage",
        Purchase => "Purchase",
        Tax => "Tax",
        Credit => "Credit",
        Adjustment => "Adjustment",
    }
);

focus_enum!(
    /// ChargeClass when not null: a correction to a previously invoiced
    /// billing period.
    ChargeClass {
        Correction => "Correction",
    }
);

focus_enum!(
    /// ServiceCategory: the highest-level classification of a service.
    ServiceCategory {
        AiAndMachineLearning => "AI and Machine Learning",
        Analytics => "Analytics",
        BusinessApplications => "Business Applications",
        Compute => "Compute",
        Databases => "Databases",
        DeveloperTools => "Developer Tools",
        Multicloud => "Multicloud",
        Identity => "Identity",
        Integration => "Integration",
        InternetOfThings => "Internet of Things",
        ManagementAndGovernance => "Management and Governance",
        Media => "Media",
        Migration => "Migration",
        Mobile => "Mobile",
        Networking => "Networking",
        Security => "Security",
        Storage => "Storage",
        Web => "Web",
        Other => "Other",
    }
);

focus_enum!(
    /// ChargeFrequency (recommended column).
    ChargeFrequency {
        OneTime => "One-Time",
        Recurring => "Recurring",
        UsageBased => "Usage-Based",
    }
);

focus_enum!(
    /// PricingCategory (conditional column).
    PricingCategory {
        Standard => "Standard",
        Committed => "Committed",
        Dynamic => "Dynamic",
        Other => "Other",
    }
);

/// The Tags column: a JSON object whose values are strings, numbers,
/// booleans or null (FOCUS KeyValueFormat). Keys are kept sorted so that
/// writing is deterministic.
pub type Tags = BTreeMap<String, serde_json::Value>;

/// One row of a FOCUS 1.2 CostAndUsage dataset.
///
/// Mandatory non-nullable columns are plain fields; nullable and optional
/// columns are `Option`s (`None` = null, or column absent from the file).
#[derive(Clone, Debug, PartialEq)]
pub struct FocusRecord {
    // --- the 21 mandatory columns ---
    pub billed_cost: Decimal,
    pub billing_account_id: String,
    pub billing_account_name: Option<String>,
    pub billing_currency: String,
    pub billing_period_start: DateTime<Utc>,
    pub billing_period_end: DateTime<Utc>,
    pub charge_category: ChargeCategory,
    pub charge_class: Option<ChargeClass>,
    pub charge_description: Option<String>,
    pub charge_period_start: DateTime<Utc>,
    pub charge_period_end: DateTime<Utc>,
    pub contracted_cost: Decimal,
    pub effective_cost: Decimal,
    pub invoice_issuer_name: String,
    pub list_cost: Decimal,
    pub pricing_quantity: Option<Decimal>,
    pub pricing_unit: Option<String>,
    pub provider_name: String,
    pub publisher_name: String,
    pub service_category: ServiceCategory,
    pub service_name: String,
    // --- conditional / recommended columns ---
    pub billing_account_type: Option<String>,
    pub charge_frequency: Option<ChargeFrequency>,
    pub consumed_quantity: Option<Decimal>,
    pub consumed_unit: Option<String>,
    pub contracted_unit_price: Option<Decimal>,
    pub invoice_id: Option<String>,
    pub list_unit_price: Option<Decimal>,
    pub pricing_category: Option<PricingCategory>,
    pub pricing_currency: Option<String>,
    pub region_id: Option<String>,
    pub region_name: Option<String>,
    pub availability_zone: Option<String>,
    pub resource_id: Option<String>,
    pub resource_name: Option<String>,
    pub resource_type: Option<String>,
    pub service_subcategory: Option<String>,
    pub sku_id: Option<String>,
    pub sku_price_id: Option<String>,
    pub sub_account_id: Option<String>,
    pub sub_account_name: Option<String>,
    pub sub_account_type: Option<String>,
    pub tags: Option<Tags>,
}

impl FocusRecord {
    /// True when the row corrects a previously invoiced billing period.
    pub fn is_correction(&self) -> bool {
        self.charge_class == Some(ChargeClass::Correction)
    }
}

//! Helpers shared by the integration tests: a valid base record and a
//! small table to edit one field at one line.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use makonis_metering::{ChargeCategory, FocusRecord, FocusWriter, ServiceCategory};
use rust_decimal::Decimal;

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("rfc3339")
        .with_timezone(&Utc)
}

pub fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

/// A valid Usage record in January 2026.
pub fn usage_record(i: u32) -> FocusRecord {
    let q = Decimal::from(i % 10 + 1);
    let p = dec("0.0125");
    FocusRecord {
        billed_cost: q * p,
        billing_account_id: format!("acct-{}", i % 3),
        billing_account_name: Some("Valsts kanceleja".into()),
        billing_currency: "EUR".into(),
        billing_period_start: utc("2026-01-01T00:00:00Z"),
        billing_period_end: utc("2026-02-01T00:00:00Z"),
        charge_category: ChargeCategory::Usage,
        charge_class: None,
        charge_description: Some("vCPU hours".into()),
        charge_period_start: utc("2026-01-05T10:00:00Z"),
        charge_period_end: utc("2026-01-05T11:00:00Z"),
        contracted_cost: q * p,
        effective_cost: q * p,
        invoice_issuer_name: "Mākonis".into(),
        list_cost: q * p,
        pricing_quantity: Some(q),
        pricing_unit: Some("Hours".into()),
        provider_name: "LVRTC".into(),
        publisher_name: "LVRTC".into(),
        service_category: ServiceCategory::Compute,
        service_name: "Virtual Machines".into(),
        billing_account_type: None,
        charge_frequency: None,
        consumed_quantity: Some(q),
        consumed_unit: Some("Hours".into()),
        contracted_unit_price: Some(p),
        invoice_id: None,
        list_unit_price: Some(p),
        pricing_category: None,
        pricing_currency: None,
        region_id: None,
        region_name: None,
        availability_zone: None,
        resource_id: Some(format!("vm-{i}")),
        resource_name: None,
        resource_type: None,
        service_subcategory: None,
        sku_id: None,
        sku_price_id: None,
        sub_account_id: None,
        sub_account_name: None,
        sub_account_type: None,
        tags: None,
    }
}

/// A CSV as header + rows of strings, to edit single fields.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// `n` valid usage rows written by the crate's own writer.
    pub fn valid(n: u32) -> Table {
        let mut w = FocusWriter::new(Vec::new()).expect("writer");
        for i in 0..n {
            w.write(&usage_record(i)).expect("write");
        }
        let bytes = w.finish().expect("finish");
        let mut r = csv::Reader::from_reader(&bytes[..]);
        let header = r
            .headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect();
        let rows = r
            .records()
            .map(|rec| rec.expect("record").iter().map(str::to_owned).collect())
            .collect();
        Table { header, rows }
    }

    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .expect("column exists")
    }

    /// Sets a field on the given file line (line 2 is the first data row).
    pub fn set(&mut self, line: usize, column: &str, value: &str) -> &mut Self {
        let c = self.col(column);
        self.rows[line - 2][c] = value.to_owned();
        self
    }

    pub fn drop_column(&mut self, column: &str) -> &mut Self {
        let c = self.col(column);
        self.header.remove(c);
        for r in &mut self.rows {
            r.remove(c);
        }
        self
    }

    pub fn to_csv(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        w.write_record(&self.header).expect("header");
        for r in &self.rows {
            w.write_record(r).expect("row");
        }
        w.into_inner().expect("bytes")
    }
}

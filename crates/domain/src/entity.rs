//! Market entities (市场主体), their outlets' designations, and the enumerations
//! departments use in their registers.

zh_enum!(
    /// Kind of market entity, as registers write it.
    EntityKind {
        Enterprise => ("enterprise", "企业"),
        IndividualBusiness => ("individual_business", "个体工商户"),
        Cooperative => ("cooperative", "农民专业合作社"),
        SocialOrganisation => ("social_organisation", "社会组织"),
        PublicInstitution => ("public_institution", "事业单位"),
        Other => ("other", "其他"),
    }
);

zh_enum!(
    /// Registration status.
    EntityStatus {
        Active => ("active", "存续"),
        Revoked => ("revoked", "吊销"),
        Deregistered => ("deregistered", "注销"),
        MovedOut => ("moved_out", "迁出"),
    }
);

zh_enum!(
    /// Whether an outlet operates; a closed one stays in the registry for
    /// history and statistics.
    OutletStatus {
        Open => ("open", "在营"),
        Closed => ("closed", "已关闭"),
    }
);

zh_enum!(
    /// Designations an outlet can hold, each granted by a body on a date.
    DesignationKind {
        Inclusive => ("inclusive", "普惠性生活服务机构"),
        Leader => ("leader", "领跑者"),
        Demonstration => ("demonstration", "示范"),
        StarRating => ("star", "星级"),
        AGrade => ("a_grade", "A级"),
        TimeHonoured => ("time_honoured", "老字号"),
    }
);

impl EntityKind {
    /// The kind implied by positions 1–2 of a credit code (GB 32100 Annex A).
    pub fn from_registrant(registrant: &str) -> Option<Self> {
        Some(match registrant {
            "91" => EntityKind::Enterprise,
            "92" => EntityKind::IndividualBusiness,
            "93" => EntityKind::Cooperative,
            "51" | "52" | "53" | "59" => EntityKind::SocialOrganisation,
            "12" => EntityKind::PublicInstitution,
            _ => return None,
        })
    }

    /// The registrant prefix used when generating codes for this kind.
    pub fn registrant(self) -> &'static str {
        match self {
            EntityKind::Enterprise => "91",
            EntityKind::IndividualBusiness => "92",
            EntityKind::Cooperative => "93",
            EntityKind::SocialOrganisation => "52",
            EntityKind::PublicInstitution => "12",
            EntityKind::Other => "Y1",
        }
    }

    /// Whether the legal representative is a natural person whose data is personal.
    pub fn is_natural_person(self) -> bool {
        self == EntityKind::IndividualBusiness
    }
}

impl DesignationKind {
    /// Valid grade values for graded designations (星级 1–5, A级 A–AAAAA).
    pub fn validate_grade(self, grade: &str) -> Result<(), String> {
        match self {
            DesignationKind::StarRating => match grade.trim().trim_end_matches('星').parse::<u8>()
            {
                Ok(1..=5) => Ok(()),
                _ => Err(format!("星级“{grade}”应为1至5")),
            },
            DesignationKind::AGrade => {
                let g = grade.trim().trim_end_matches('级');
                if (1..=5).contains(&g.len()) && g.chars().all(|c| c == 'A') {
                    Ok(())
                } else {
                    Err(format!("A级“{grade}”应为A至AAAAA"))
                }
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_chinese() {
        assert_eq!(
            EntityKind::parse("个体工商户"),
            Some(EntityKind::IndividualBusiness)
        );
        assert_eq!(EntityStatus::parse("active"), Some(EntityStatus::Active));
        assert_eq!(
            EntityKind::from_registrant("91"),
            Some(EntityKind::Enterprise)
        );
        assert!(EntityKind::parse("外星人").is_none());
    }

    #[test]
    fn grades() {
        assert!(DesignationKind::StarRating.validate_grade("5").is_ok());
        assert!(DesignationKind::StarRating.validate_grade("6").is_err());
        assert!(DesignationKind::AGrade.validate_grade("AAAA级").is_ok());
        assert!(DesignationKind::AGrade.validate_grade("B").is_err());
    }
}

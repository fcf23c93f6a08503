use super::*;

fn w(s: &str) -> std::vec::Vec<u16> {
    s.encode_utf16().collect()
}

#[test]
fn numbers_parse_strictly() {
    assert_eq!(parse_number(&w("1514")), Some(1514));
    assert_eq!(parse_number(&w("  8 ")), Some(8));
    assert_eq!(parse_number(&w("0x10")), Some(16));
    assert_eq!(parse_number(&w("")), None);
    assert_eq!(parse_number(&w("12a")), None);
    assert_eq!(parse_number(&w("-1")), None);
    assert_eq!(
        parse_number(&w("4294967296")),
        None,
        "overflow is not a number"
    );
    assert_eq!(parse_number(&w("0x")), None);
}

#[test]
fn bad_values_fall_back_to_default_with_an_issue() {
    let jumbo = &KEYWORDS[k::JUMBO_PACKET];
    assert_eq!(parse(jumbo, RawValue::Missing), (1514, None));
    assert_eq!(parse(jumbo, RawValue::Int(9014)), (9014, None));
    assert_eq!(
        parse(jumbo, RawValue::Int(100)),
        (1514, Some(Issue::OutOfRange(100)))
    );
    assert_eq!(
        parse(jumbo, RawValue::Utf16(&w("lots"))),
        (1514, Some(Issue::NotANumber))
    );
    let rx = &KEYWORDS[k::RECEIVE_BUFFERS];
    assert_eq!(parse(rx, RawValue::Utf16(&w("2048"))), (2048, None));
    assert_eq!(
        parse(rx, RawValue::Int(1000)),
        (1024, Some(Issue::NotInEnum(1000)))
    );
}

#[test]
fn read_collects_every_keyword_and_reports_refusals() {
    let store: std::vec::Vec<(&str, std::vec::Vec<u16>)> = std::vec![
        ("*RSS", w("0")),
        ("*JumboPacket", w("9014")),
        ("*ReceiveBuffers", w("300")),
        ("*TCPChecksumOffloadIPv4", w("1")),
        ("*LsoV2IPv6", w("7")),
        ("*NumRssQueues", w("garbage")),
    ];
    let mut issues = std::vec::Vec::new();
    let kw = Keywords::read(
        |name| match store.iter().find(|(n, _)| *n == name) {
            Some((_, v)) => RawValue::Utf16(v),
            None => RawValue::Missing,
        },
        |i, spec, _raw, issue| issues.push((i, spec.name, issue)),
    );
    assert!(!kw.rss);
    assert_eq!(kw.jumbo_packet, 9014);
    assert_eq!(kw.mtu(), 9000);
    assert_eq!(kw.receive_buffers, 1024);
    assert_eq!(
        kw.tcp_csum_v4,
        CsumSetting {
            tx: true,
            rx: false
        }
    );
    assert_eq!(kw.udp_csum_v4, CsumSetting { tx: true, rx: true });
    assert!(kw.lso_v2_v6, "default kept");
    assert_eq!(kw.num_rss_queues, 8);
    assert_eq!(
        issues,
        std::vec![
            (k::NUM_RSS_QUEUES, "*NumRssQueues", Issue::NotANumber),
            (k::RECEIVE_BUFFERS, "*ReceiveBuffers", Issue::NotInEnum(300)),
            (k::LSO_V2_V6, "*LsoV2IPv6", Issue::NotInEnum(7)),
        ]
    );
}

#[test]
fn table_is_consistent() {
    for (i, spec) in KEYWORDS.iter().enumerate() {
        assert!(spec.name.starts_with('*'), "{}", spec.name);
        assert_eq!(
            check(spec, spec.default),
            Ok(spec.default),
            "default of {} in bounds",
            spec.name
        );
        assert!(KEYWORDS[..i].iter().all(|o| o.name != spec.name));
    }
    assert_eq!(
        Keywords::defaults(),
        Keywords::read(|_| RawValue::Missing, |_, _, _, _| panic!())
    );
    assert_eq!(
        std::format!("{}", Issue::OutOfRange(3)),
        "= 3 is out of range"
    );
}

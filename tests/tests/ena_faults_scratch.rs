use cloudnic_tests::testbed::BackToBack;
use cloudnic_models::ena::EnaFault;

#[test]
fn explore_keepalive() {
    let mut t = BackToBack::small();
    t.assert_traffic_both_ways(3);
    t.a.log().clear();
    t.a.model.borrow_mut().inject(EnaFault::KeepAliveLoss);
    let r = t.run_for(8_000_000);
    println!("resets {:?} model {:?} now {}", r, t.a.model.borrow().reset_reasons(), t.clock.now_us());
    for (_, l) in t.a.log().lines() { println!("{l}"); }
    t.a.model.borrow_mut().clear_fault(EnaFault::KeepAliveLoss);
    t.assert_traffic_both_ways(3);
    let r = t.run_for(8_000_000);
    println!("resets {:?}", r);
    t.teardown_and_check();
}

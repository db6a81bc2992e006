from rag.answering.verification import streaming_problem, verify

EVIDENCE = [
    "The first practical silicon solar cell was built at Bell Labs in 1954.",
    "Most manufacturers guarantee solar panels for 25 years.",
]
QUESTION = "Where was the first practical solar cell built?"


def test_a_sentence_copied_from_its_source_passes_and_keeps_its_marker():
    check = verify("The first practical silicon solar cell was built at Bell Labs [1].", EVIDENCE, QUESTION)
    assert check.supported, check.reason
    assert check.text == "The first practical silicon solar cell was built at Bell Labs [1]."
    assert check.cited == (1,)


def test_a_missing_marker_is_given_the_source_that_holds_the_words():
    check = verify("Manufacturers guarantee solar panels for 25 years.", EVIDENCE, "How long are panels guaranteed?")
    assert check.supported, check.reason
    assert check.text.endswith("[2].") and check.cited == (2,)


def test_an_invented_number_is_rejected():
    check = verify("Manufacturers guarantee solar panels for 30 years [2].", EVIDENCE, "How long are panels guaranteed?")
    assert not check.supported and "30" in check.reason


def test_a_wrong_marker_is_rejected():
    check = verify("Manufacturers guarantee solar panels for 25 years [1].", EVIDENCE, "How long are panels guaranteed?")
    assert not check.supported


def test_a_marker_beyond_the_sources_is_rejected():
    assert not verify("It was built at Bell Labs [7].", EVIDENCE, QUESTION).supported


def test_words_from_nowhere_are_rejected():
    check = verify("It was built in a garage in California [1].", EVIDENCE, QUESTION)
    assert not check.supported


def test_negation_the_sources_do_not_make_is_rejected():
    check = verify("The first solar cell was not built at Bell Labs [1].", EVIDENCE, QUESTION)
    assert not check.supported and "negat" in check.reason


def test_echoing_the_question_is_rejected():
    assert not verify("The first practical solar cell was built.", EVIDENCE, QUESTION).supported


def test_loops_are_rejected():
    check = verify("Bell Labs Bell Labs Bell Labs built the solar cell [1].", EVIDENCE, QUESTION)
    assert not check.supported and "repeats" in check.reason


def test_streaming_check_stops_at_the_first_unsupported_finished_word():
    assert streaming_problem("The cell was built at Bell", EVIDENCE, QUESTION) == ""
    assert "garage" in streaming_problem("The cell was built in a garage ", EVIDENCE, QUESTION)
    assert "2001" in streaming_problem("It was built in 2001 ", EVIDENCE, QUESTION)


def test_a_draft_that_skips_the_best_evidence_is_rejected():
    core = "The first practical silicon solar cell was built at Bell Labs in 1954."
    assert verify("It was built at Bell Labs in 1954 [1].", EVIDENCE, QUESTION, core=core).supported
    check = verify("Most manufacturers guarantee solar panels for 25 years [2].", EVIDENCE, QUESTION, core=core)
    assert not check.supported and "best evidence" in check.reason


def test_words_taken_from_the_question_need_support_too():
    # The question's words wrap an unrelated quote: "the <thing asked> is: <unrelated text>".
    question = "What is the warranty on the inverter?"
    draft = "The warranty on the inverter is the first practical silicon solar cell built at Bell Labs [1]."
    check = verify(draft, EVIDENCE, question)
    assert not check.supported and "inverter" in check.reason


def test_a_sentence_copied_from_a_lead_in_ends_as_a_sentence():
    evidence = ["A database file can be in one of five locking states:"]
    check = verify("A database file can be in one of five locking states:", evidence, "How many locking states are there?")
    assert check.supported, check.reason
    assert check.text == "A database file can be in one of five locking states [1]."


def test_a_sentence_cut_off_by_the_token_limit_is_dropped_or_the_draft_rejected():
    evidence = ["The clone driver groups clients to one outlet of a bigger UPS.",
                "Also note that there is a clone driver with a similar purpose."]
    question = "How do I expose one outlet of a UPS as its own UPS?"
    check = verify("The clone driver groups clients to one outlet of a bigger UPS [1]. Also note that there",
                   evidence, question)
    assert check.supported and check.text == "The clone driver groups clients to one outlet of a bigger UPS [1]."
    alone = verify("[1] The clone driver groups clients to one outlet of a", evidence, question)
    assert not alone.supported and "breaks off" in alone.reason
    assert verify("The clone driver groups clients to one outlet of a bigger UPS [1].", evidence, question).supported

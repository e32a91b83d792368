from printouts import first_difference, same_printout


def test_numbers_may_differ_in_their_last_printed_places_only():
    committed = "Mid 2 (peak)  +2.7  6059  0.60\nGain -0.85 dB Q 0.710\n"
    assert same_printout("Mid 2 (peak)  +2.7  6057  0.60\nGain -0.84 dB Q 0.711\n", committed)
    assert same_printout("Fc 6056.8 Hz", "Fc 6058.8 Hz") and not same_printout("Fc 5898.8 Hz", "Fc 6058.8 Hz")
    assert same_printout("high +4.3 dB @ 4424 Hz", "high +4.2 dB @ 4497 Hz")
    assert not same_printout("Mid 2 (peak)  +2.7  5899  0.60\nGain -0.85 dB Q 0.710\n", committed)
    assert not same_printout("Mid 2 (peak)  +3.1  6059  0.60\nGain -0.85 dB Q 0.710\n", committed)
    assert not same_printout("Mid 2 (peak)  +2.7  6059  0.60\nGain -0.85 dB Q 0.710 wrote\n", committed)
    assert not same_printout("Mid 2 (peak)  +2.7  6059\nGain -0.85 dB Q 0.710\n", committed)


def test_first_difference_names_the_line():
    assert first_difference("a 1\nb 2\n", "a 1\nb 2\n") == ""
    assert first_difference("a 1\nb 9\n", "a 1\nb 2\n") == "now:       b 9\ncommitted: b 2"
    assert first_difference("a 1\n", "a 1\nb 2\n") == "the line counts differ"

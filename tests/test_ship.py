"""The model card's training section is what the shipped checkpoints hold."""

from eqlib.ship import CARD, TRAINING_BEGIN, TRAINING_END, training_section


def test_model_card_training_section_is_written_from_the_shipped_checkpoints():
    text = CARD.read_text()
    section = text.split(TRAINING_BEGIN)[1].split(TRAINING_END)[0]
    assert section == f"\n{training_section()}\n", "rerun python -m eqlib.ship (or eqlib.ship.update_card())"

from __future__ import annotations

import pytest

from terminal_app.core.agents import Agent, LoginError, Role, hash_pin, verify_pin


@pytest.fixture
def roster(kiosk):
    kiosk.agents.replace_roster(
        [
            Agent("A-1", Role.AGENT, "422801", hash_pin("246810")),
            Agent("S-1", Role.SUPERVISOR, "422801", hash_pin("97531864")),
            Agent("A-2", Role.AGENT, "422801", hash_pin("111222"), active=False),
        ]
    )
    return kiosk.agents


def test_pin_hash_is_scrypt_with_its_parameters_and_a_salt():
    first, second = hash_pin("246810"), hash_pin("246810")
    assert first.startswith("scrypt$32768$8$1$") and first != second  # salted
    assert "246810" not in first
    assert verify_pin("246810", first) and not verify_pin("246811", first)
    assert not verify_pin("246810", "md5$abc") and not verify_pin("246810", "garbage")


@pytest.mark.parametrize("pin", ["12345", "123456789", "12ab56", ""])
def test_pin_format_is_checked(pin):
    with pytest.raises(LoginError) as error:
        hash_pin(pin)
    assert error.value.code == "pin_format"


def test_login_works_offline_with_roles(roster):
    session = roster.login("S-1", "97531864")
    assert session.role is Role.SUPERVISOR and session.county == "422801"
    assert session.expires_at - session.started_at == 30 * 60


def test_unknown_agent_and_wrong_pin_get_the_same_answer(roster):
    with pytest.raises(LoginError) as unknown:
        roster.login("A-404", "246810")
    with pytest.raises(LoginError) as wrong:
        roster.login("A-1", "000000")
    assert unknown.value.code == wrong.value.code == "wrong_credentials"


def test_deactivated_agent_is_refused(roster):
    with pytest.raises(LoginError) as error:
        roster.login("A-2", "111222")
    assert error.value.code == "inactive"


def test_lockout_after_five_failures_then_unlocks_after_the_configured_time(roster, kiosk, clock):
    for attempt in range(1, 5):
        with pytest.raises(LoginError) as error:
            roster.login("A-1", "000000")
        assert f"{5 - attempt} attempts left" in error.value.reason.en
    with pytest.raises(LoginError) as error:
        roster.login("A-1", "000000")
    assert error.value.code == "locked"
    with pytest.raises(LoginError) as error:  # even the right PIN is refused while locked
        roster.login("A-1", "246810")
    assert error.value.code == "locked"
    clock.advance(kiosk.config.agents.lockout_minutes * 60 + 1)
    assert roster.login("A-1", "246810").agent_id == "A-1"
    # a success clears the count
    with pytest.raises(LoginError) as error:
        roster.login("A-1", "000000")
    assert "4 attempts left" in error.value.reason.en


def test_lockout_survives_a_restart(roster, kiosk, clock, tmp_path):
    from terminal_app.core.kiosk import Kiosk

    for _ in range(5):
        with pytest.raises(LoginError):
            roster.login("A-1", "000000")
    kiosk.close()
    again = Kiosk.start(None, kiosk.vault.data_dir, clock=clock)
    with pytest.raises(LoginError) as error:
        again.agents.login("A-1", "246810")
    assert error.value.code == "locked"
    again.close()


def test_an_id_number_typed_as_agent_id_is_not_stored_or_logged(roster, kiosk):
    typed = "422801199003070011"
    with pytest.raises(LoginError):
        roster.login(typed, "000000")
    dump = "\n".join(kiosk.vault.db.iterdump())
    assert typed not in dump


def test_roster_is_replaced_whole(roster):
    assert [a.agent_id for a in roster.roster()] == ["A-1", "A-2", "S-1"]
    roster.replace_roster([Agent("A-9", Role.AGENT, "422801", hash_pin("999000"))])
    assert [a.agent_id for a in roster.roster()] == ["A-9"]
    with pytest.raises(LoginError):
        roster.login("A-1", "246810")


def test_wrong_pins_tried_at_once_from_several_processes_each_count_and_lock(
    roster, kiosk, config_path, tmp_path, monkeypatch
):
    """Eight wrong PINs at the same moment, each from its own connection to the vault (as eight
    processes would): every one is counted, so the agent is locked; once the count left the lock at
    1 and guessing in parallel outran the lockout."""
    import threading

    from terminal_app.core import agents as agents_module
    from terminal_app.core.kiosk import Kiosk

    tries = 8
    ready = threading.Barrier(tries)
    answers: list[str] = []
    checked: list[str] = []
    real_verify = agents_module.verify_pin

    def counted_verify(pin: str, pin_hash: str) -> bool:
        checked.append(pin)
        return real_verify(pin, pin_hash)

    monkeypatch.setattr(agents_module, "verify_pin", counted_verify)

    def guess() -> None:
        own = Kiosk.start(config_path, tmp_path / "data", runs_sessions=False)  # the same vault, its own connection
        try:
            ready.wait()
            own.agents.login("A-1", "000000")
        except LoginError as error:
            answers.append(error.code)
        finally:
            own.close()

    threads = [threading.Thread(target=guess) for _ in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers).count("locked") >= tries - kiosk.config.agents.lockout_after + 1
    assert len(checked) <= kiosk.config.agents.lockout_after  # tries beyond the allowance never reach the PIN
    later = Kiosk.start(config_path, tmp_path / "data", runs_sessions=False)  # on the same (real) clock
    try:
        with pytest.raises(LoginError) as error:  # the right PIN now waits out the lock
            later.agents.login("A-1", "246810")
        assert error.value.code == "locked"
    finally:
        later.close()

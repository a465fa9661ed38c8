"""The scenario's frozen dataclasses: every input of one simulation run, typed.

Kept apart from :mod:`collectsim.scenario` (which builds and validates them) so that
the validation module can import the types without an import cycle. Units are in the
field names: ``*_days`` are days, ``*_hour`` hours of the day (0-24), ``*_minutes``
minutes, ``*_yuan`` yuan, ``*_rate`` per day unless said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Dist:
    """A one-dimensional distribution described in config.

    ``kind`` is one of ``beta`` (``a``, ``b``), ``lognormal`` (arithmetic ``mean`` and
    log-scale ``sigma``), ``uniform`` (``low``, ``high``), ``normal`` (``mean``,
    ``sigma``), ``exponential`` (``mean``) or ``constant`` (``value``). ``low`` and
    ``high`` clip draws of the unbounded kinds.
    """

    kind: str
    a: float | None = None
    b: float | None = None
    mean: float | None = None
    sigma: float | None = None
    value: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class SegmentConfig:
    """One borrower segment: its share of the portfolio and trait distributions."""

    name: str
    share: float
    principal_yuan: Dist
    daily_rate: Dist
    ability: Dist
    willingness: Dist
    contactability: Dist
    stress_sensitivity: Dist
    hardship_prob: float
    hardship_days: Dist


@dataclass(frozen=True)
class PortfolioConfig:
    """The delinquent portfolio: size, arrival mode and segments."""

    n_accounts: int  # accounts in the run (stream: over warm-up, window and cool-down)
    arrival: str  # "cohort" or "stream"
    warmup_days: int
    arrival_days: int
    cooldown_days: int
    penalty_multiplier: float
    hardship_ability_factor: float
    score_auc: float
    segments: list[SegmentConfig]
    # Multiplies the chance that a call reaches the borrower, by hour of day (24 values
    # in [0, 1]); all ones: the hour does not matter.
    reach_by_hour: list[float] = field(default_factory=lambda: [1.0] * 24)
    # Book-wide multipliers for studies of where a ranking flips: every borrower's drawn
    # willingness times willingness_scale (clipped at 1), every segment's hardship_prob
    # times hardship_scale (clipped at 1). 1: the book as its segments define it.
    willingness_scale: float = 1.0
    hardship_scale: float = 1.0
    # Share of accounts whose home or work address the lender knows (only they can be
    # visited by the field team, channels.field_team). Drawn per account from its own keyed
    # stream, so the other draws of the book do not depend on it.
    known_address_share: float = 0.6

    @property
    def span_days(self) -> int:
        """Days over which a stream's accounts arrive: warm-up, window and cool-down."""
        return self.warmup_days + self.arrival_days + self.cooldown_days


@dataclass(frozen=True)
class StressConfig:
    """Borrower stress: decay, distress threshold and feedback strengths."""

    half_life_days: float
    distress_threshold: float
    willingness_effect: float
    contactability_effect: float
    complaint_effect: float
    # While stress lasts, the borrower's own repayment intensity sees willingness
    # lowered by exp(-intensity_effect * stress); every contact's response strength is
    # damped by exp(-response_effect * stress); above reactance_threshold a delivered
    # contact on a channel with a reactance setting (channels.<name>.reactance) loses
    # reactance * (stress - threshold) of strength, and can turn negative (pressure
    # backfires). Zero: no such effect.
    intensity_effect: float = 0.0
    response_effect: float = 0.0
    reactance_threshold: float = 0.0


@dataclass(frozen=True)
class ConversationConfig:
    """What a connected collector call can end in: promise, plan or settlement."""

    ptp_base: float
    ptp_skill_effect: float
    promise_days: Dist
    keep_base: float
    keep_ability: float
    keep_willingness: float
    keep_stress: float
    hardship_disclosure_soft: float
    hardship_disclosure_firm: float
    hardship_disclosure_skill: float
    plan_instalments: int
    plan_interval_days: int
    plan_adherence_base: float
    plan_adherence_ability: float
    plan_max_misses: int
    settlement_accept_base: float
    settlement_accept_discount: float
    settlement_days: int


@dataclass(frozen=True)
class ChannelConfig:
    """A contact channel: its cost, its effect on repayment intensity and on stress.

    Under the standard response model the response strength of a delivered contact is
    ``impulse * ability**ability_exp * willingness_eff**willingness_exp`` (times the
    collector's skill for an agent call). ``kind`` says how the engine delivers it:
    ``message`` (SMS, app push: sent at ``hour``, not a call), ``dialler`` (an
    automated call attempt at ``hour`` that may go unanswered), ``agent`` (a collector
    call from the work queue), ``letter`` (post, outside the calling-hour rules) or
    ``visit`` (a field visit made by the field team, ``channels.field_team``).
    ``tone`` (``soft`` or ``firm``) shapes a conversation; ``cost_key`` names the
    ``cost_<key>`` KPI the per-contact cost goes to. The built-in channels fix their
    kind; left empty, tone and cost key take the channel's defaults. A
    ``third_party`` channel calls someone the borrower listed (a relative, a
    colleague), who answers with probability ``answer_prob`` (times the hour's
    reachability): it is not a conversation with the borrower.
    """

    cost_yuan: float
    impulse: float
    ability_exp: float
    willingness_exp: float
    stress_increment: float
    complaint_prob: float
    hour: float
    kind: str = ""
    tone: str = ""
    cost_key: str = ""
    third_party: bool = False
    answer_prob: float | None = None
    # Reactance: strength lost per unit of stress above stress.reactance_threshold
    # (0: this channel never backfires through stress).
    reactance: float = 0.0
    # Credibility: a delivered contact lifts the borrower's willingness toward 1 by
    # this share, for credibility_days (a legal threat believed).
    credibility_lift: float = 0.0
    credibility_days: float = 0.0
    # Priority: a delivered contact moves this lender up the borrower's list of
    # creditors, taking this share off the time the borrower's money has been going
    # elsewhere (see response.competition_rate).
    priority_gain: float = 0.0


@dataclass(frozen=True)
class CourtFeeBracket:
    """Court fee rate applied to the part of the claim above ``from_yuan``."""

    from_yuan: float
    rate: float


@dataclass(frozen=True)
class LawsuitConfig:
    """Lawsuits: fees, legal team capacity, delay and judgment recovery."""

    min_fee_yuan: float
    fee_brackets: list[CourtFeeBracket]
    simplified_procedure: bool
    lawyer_fee_yuan: float
    team_size: int
    prep_days: float
    delay_days: Dist
    win_base: float
    win_ability: float
    recovery_fraction: float
    impulse: float
    ability_exp: float
    willingness_exp: float
    stress_increment: float
    complaint_prob: float
    # A filed lawsuit is a credible threat until judgment: willingness lifted toward 1
    # by credibility_lift from filing (credibility_days after filing at most).
    credibility_lift: float = 0.0
    credibility_days: float = 0.0
    priority_gain: float = 0.0
    # After a won judgment, enforcement goes on for enforcement_days: the borrower's
    # willingness is lifted toward 1 by enforcement_lift (in China a debtor who ignores
    # a judgment can be listed as dishonest, which restricts high consumption); what is
    # still owed at its end is written off. 0 days: the rest is written off at judgment.
    enforcement_days: float = 0.0
    enforcement_lift: float = 0.0


@dataclass(frozen=True)
class AgencyConfig:
    """A collection agency working the accounts outsourced to it: up to
    ``lines_per_day`` contacts a day on channel ``channel`` (a dialler channel), each
    account at most every ``every_days`` days; paid only its commission on what it
    collects (``channels.outsourcing_commission``)."""

    lines_per_day: int = 0
    every_days: int = 3
    channel: str = "agency_call"


@dataclass(frozen=True)
class FieldTeamConfig:
    """The field team that visits borrowers at home or at work (``kind: visit``
    channels): ``size`` visitors, each working from ``start_hour`` to ``end_hour`` and
    spending ``travel_minutes`` on the way to each visit and ``visit_minutes`` at it,
    so each makes ``floor((end_hour - start_hour) * 60 / (travel_minutes +
    visit_minutes))`` visits a day. A visit meets the borrower with probability
    ``found_prob`` (otherwise it costs and does nothing). The cost per visit is the
    visit channel's ``cost_yuan``. ``size`` 0: no field team, every visit request is
    dropped."""

    size: int = 0
    start_hour: float = 9.0
    end_hour: float = 18.0
    travel_minutes: float = 60.0
    visit_minutes: float = 30.0
    found_prob: float = 0.6


@dataclass(frozen=True)
class AiVoiceConfig:
    """AI voice agents (``kind: bot`` channels): ``lines`` conversations at once, each a
    pool member like a collector, dialling the bot queue from ``start_hour`` to
    ``end_hour`` (``None``: the calling window's hours) without breaks. A call holds
    ``connected_minutes`` when answered, ``no_answer_minutes`` otherwise; each
    connected minute costs ``cost_yuan_per_minute`` on top of telephony. ``skill`` is
    the bots' skill against an average human collector's 1 (conversion and impulse scale
    with it as with an agent's skill). ``lines`` 0: no bots (a policy asking for a bot
    call is refused)."""

    lines: int = 0
    start_hour: float | None = None
    end_hour: float | None = None
    connected_minutes_low: float = 1.5
    connected_minutes_high: float = 3.0
    no_answer_minutes: float = 0.5
    cost_yuan_per_minute: float = 0.2
    skill: float = 0.7


@dataclass(frozen=True)
class ChannelsConfig:
    """All actions the engine knows, with their costs and effects.

    ``extra`` adds contact channels by name (e.g. ``app_push``): a policy can then
    request them like the built-in ones (see ``docs/behaviour.md``).
    """

    sms: ChannelConfig
    voice: ChannelConfig
    voice_lines_per_day: int
    soft_call: ChannelConfig
    firm_call: ChannelConfig
    telephony_yuan_per_minute: float
    legal_warning: ChannelConfig
    lawsuit: LawsuitConfig
    outsourcing_commission: float
    debt_sale_price_fraction: float
    extra: dict[str, ChannelConfig] = field(default_factory=dict)
    agency: AgencyConfig = field(default_factory=AgencyConfig)
    field_team: FieldTeamConfig = field(default_factory=FieldTeamConfig)
    ai_voice: AiVoiceConfig = field(default_factory=AiVoiceConfig)


@dataclass(frozen=True)
class TrainingConfig:
    """The training lever: a cost per agent that raises skill."""

    enabled: bool
    cost_yuan_per_agent: float
    skill_gain: float


@dataclass(frozen=True)
class CollectorsConfig:
    """The collector pool and its work queue."""

    size: int
    shift_start_hour: float
    shift_end_hour: float
    break_minutes: float
    max_conversations_per_day: int
    connected_minutes: Dist
    no_answer_minutes: Dist
    skill: Dist
    harshness: Dist
    skill_effect: float
    wage_yuan_per_day: float
    backlog: str  # "carry" or "drop"
    training: TrainingConfig
    # The break starts this many hours into the shift (null: it comes off the end of
    # the shift, so the last break_minutes of the shift are not worked).
    break_after_hours: float | None = None
    # Under an enforced calling window that ends later than the shift, the shift moves
    # later (same length) to end when the window does.
    shift_follows_window: bool = False


@dataclass(frozen=True)
class ComplianceConfig:
    """Contact rules. ``enforce`` blocks breaking requests; otherwise they are counted.

    A rule whose value is ``None`` is not checked.
    """

    name: str
    enforce: bool
    window_start_hour: float
    window_end_hour: float
    max_connected_per_day: int | None
    max_unanswered_per_day: int | None
    max_attempts_7d: int | None
    cooldown_days_after_conversation: float | None
    cost_per_complaint_yuan: float
    cost_per_breach_yuan: float
    third_party_contact: bool = True  # False: calls to third parties break the rule
    # With third_party_contact false: a listed contact may still be called to locate a
    # borrower whose last this-many call attempts on their own number all failed (null:
    # never).
    third_party_locate_after: int | None = None
    # Field visits (channels.field_team): a visit must start at or after visit_start_hour and
    # end by visit_end_hour (null: the calling window's hours), and an account gets at
    # most max_visits_30d visits in any 30 days (null: no cap; 0: no visits at all).
    visit_start_hour: float | None = None
    visit_end_hour: float | None = None
    max_visits_30d: int | None = None


@dataclass(frozen=True)
class SimulationConfig:
    """Run length, seeding and the cost of funds that values time.

    ``cost_of_funds_annual`` is a continuously compounded annual rate: a yuan collected
    ``a`` days after the account's entry is worth ``exp(-cost_of_funds_annual * a / 365)``
    at entry (the ``*_pv`` KPIs). ``keyed_outcomes`` draws the outcomes of contacts (a
    call answered, a promise made and kept, a complaint) per account rather than from
    streams shared in the order contacts happen (see
    :class:`collectsim.random_streams.OutcomeDraws`).
    """

    horizon_days: int
    legal_tail_days: int
    seed: int
    replications: int
    cost_of_funds_annual: float = 0.08
    keyed_outcomes: bool = False


@dataclass(frozen=True)
class Scenario:
    """Everything one run needs. ``behaviour``, ``policy`` and ``response`` are plug-in
    configs with a ``_target_`` naming their class (see :mod:`collectsim.plugins`);
    ``response`` defaults to the standard response model."""

    simulation: SimulationConfig
    portfolio: PortfolioConfig
    behaviour: dict[str, Any]
    stress: StressConfig
    conversation: ConversationConfig
    channels: ChannelsConfig
    collectors: CollectorsConfig
    compliance: ComplianceConfig
    policy: dict[str, Any]
    response: dict[str, Any] = field(default_factory=lambda: {"_target_": "collectsim.behaviour.StandardResponse"})

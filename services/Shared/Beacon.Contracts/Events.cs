namespace Beacon.Contracts.Events;

// Integration events on the bus. One record per event; past tense; ids are strings chosen by the
// district (student and school ids) or Guids minted by the publisher (alerts, cases, notifications).
// Dates are school days (DateOnly); instants are UTC.

/// <summary>A student was placed on a school's roster (new or moved).</summary>
public sealed record StudentEnrolled(string StudentId, string SchoolId, string GivenName, string FamilyName, string GradeLevel, DateTimeOffset OccurredAt);

/// <summary>
/// A student's demographics (from the roster). Never model inputs by default: they are for the
/// fairness report. Null means the district did not say.
/// </summary>
public sealed record StudentDemographicsRecorded(string StudentId, string? Sex, string? RaceEthnicity, bool? EconomicallyDisadvantaged, bool? EnglishLearner,
    bool? Disability, DateTimeOffset OccurredAt);

/// <summary>
/// A student left a school's roster without being erased: a OneRoster delta marked the user tobedeleted (Reason says
/// which feed and file). Their records stay; they are no longer enrolled. ExitCode is one of <see cref="ExitCodes"/>
/// (what the feed said, else "other"); Early warning turns it into the dropout outcome at the year's end.
/// </summary>
public sealed record StudentExited(string StudentId, string SchoolId, string Reason, DateTimeOffset OccurredAt, string ExitCode = ExitCodes.Other);

/// <summary>Why a student left: the values of <see cref="StudentExited.ExitCode"/>.</summary>
public static class ExitCodes
{
    public const string Graduated = "graduated";
    public const string Transferred = "transferred";
    public const string DroppedOut = "dropped-out";
    public const string Other = "other";
    public static readonly IReadOnlySet<string> All = new HashSet<string> { Graduated, Transferred, DroppedOut, Other };
}

/// <summary>
/// A school calendar for one school year as it now stands (the whole year, so the latest event replaces what a consumer held):
/// SchoolId null is the district-wide calendar; a school's own calendar adds its non-instructional days to the district's,
/// and its FirstDay/LastDay (when set) replace the district's. Weekends are never school days.
/// </summary>
public sealed record SchoolCalendarRecorded(string? SchoolId, string SchoolYear, DateOnly? FirstDay, DateOnly? LastDay,
    IReadOnlyList<NonInstructionalDays> NonInstructional, DateTimeOffset OccurredAt);

/// <summary>A span of days with no instruction (a holiday, a break, a teacher day), From to To inclusive.</summary>
public sealed record NonInstructionalDays(DateOnly From, DateOnly To, string Description);

/// <summary>A parent, guardian or relative of a student (OneRoster agentSourcedIds), recorded or changed, for outreach.</summary>
public sealed record StudentContactRecorded(string StudentId, string ContactId, string Relationship, string GivenName, string FamilyName, string? Email,
    string? Phone, string? Sms, DateTimeOffset OccurredAt);

/// <summary>
/// A class section's roster as it now stands (OneRoster classes.csv and enrollments.csv): its teachers and students, the
/// whole membership each time so a consumer replaces its copy (a later OccurredAt wins); Ended when the class was deleted.
/// </summary>
public sealed record SectionRosterRecorded(string SectionId, string SchoolId, string Title, IReadOnlyList<string> TeacherIds,
    IReadOnlyList<string> StudentIds, bool Ended, DateTimeOffset OccurredAt);

/// <summary>
/// A staff member was assigned to a school in a role (counselor, teacher, coordinator). Phone: their mobile number in
/// E.164 form (+ and 8 to 15 digits) when the roster has a valid one, for SMS; null otherwise, and in messages published
/// before it was added (optional and last, so those still read).
/// </summary>
public sealed record StaffAssigned(string StaffId, string SchoolId, string Role, string GivenName, string FamilyName, string Email, DateTimeOffset OccurredAt,
    string? Phone = null);

/// <summary>
/// A staff member left the roster (a OneRoster tobedeleted user): no longer a counselor, teacher or coordinator of the
/// school. Their active cases need a new owner; nothing is sent to them any more.
/// </summary>
public sealed record StaffLeft(string StaffId, string SchoolId, string Role, string Reason, DateTimeOffset OccurredAt);

/// <summary>
/// One day (Period null) or one period of attendance was recorded or corrected (same student, date and
/// period, new status).
/// </summary>
public sealed record AttendanceRecorded(string StudentId, string SchoolId, DateOnly Date, string Status, bool IsCorrection, DateTimeOffset OccurredAt,
    string? Period = null);

/// <summary>
/// Attendance records stored together (up to 500 from one upload), in the order they were stored. Ingestion
/// publishes these rather than one <see cref="AttendanceRecorded"/> per record: at a district's upload
/// rate, a message per record cost the broker and every consumer more CPU than the work itself.
/// </summary>
public sealed record AttendanceBatchRecorded(IReadOnlyList<AttendanceRecorded> Records);

/// <summary>A course mark for a term was recorded or corrected.</summary>
public sealed record GradeRecorded(string StudentId, string SchoolId, string CourseId, string Term, double MarkPercent, DateOnly Date, bool IsCorrection, DateTimeOffset OccurredAt);

/// <summary>A behaviour incident was recorded or corrected (same incident id).</summary>
public sealed record BehaviorIncidentRecorded(string IncidentId, string StudentId, string SchoolId, DateOnly Date, string Category, string Severity,
    bool IsCorrection, DateTimeOffset OccurredAt);

/// <summary>LMS activity that is not an answer (an xAPI "completed" or "experienced" statement).</summary>
public sealed record LmsActivityRecorded(string StatementId, string StudentId, string Verb, string ObjectId, double DurationSeconds, DateTimeOffset Timestamp);

/// <summary>A student answered an item that practises one or more skills.</summary>
public sealed record ItemResponseRecorded(string StudentId, string ItemId, IReadOnlyList<string> SkillIds, bool Correct, int AttemptNumber, int HintsUsed, double TimeOnTaskSeconds, DateTimeOffset AnsweredAt);

/// <summary>
/// An xAPI statement Beacon had recorded was voided by a later statement (verb voided): what it said no longer stands.
/// Kind "answer" withdraws the item response (StudentId, ItemId, AttemptNumber); kind "activity" the
/// <see cref="LmsActivityRecorded"/> with this StatementId.
/// </summary>
public sealed record LearningRecordVoided(string StatementId, string StudentId, string Kind, string? ItemId, int? AttemptNumber, DateTimeOffset VoidedAt);

/// <summary>
/// A student's estimated mastery of a skill changed. Mastery publishes <see cref="StudentMasteryChanged"/> instead now; this is
/// still consumed (messages in flight, producers and logs of before).
/// </summary>
public sealed record MasteryChanged(string StudentId, string SkillId, double ProbabilityMastered, bool Mastered, int Attempts, DateTimeOffset OccurredAt);

/// <summary>One skill's estimate in <see cref="StudentMasteryChanged"/>.</summary>
public sealed record SkillMasteryEstimate(string SkillId, double ProbabilityMastered, bool Mastered, int Attempts);

/// <summary>
/// A student's estimated mastery of one or more skills changed: one event per student per unit of work (an answer batch, a
/// voided answer, a refit chunk), each skill with its final value. A message per skill made answers, over half of a
/// district's signals, several messages each for the consumers (issue #18).
/// </summary>
public sealed record StudentMasteryChanged(string StudentId, IReadOnlyList<SkillMasteryEstimate> Skills, DateTimeOffset OccurredAt);

/// <summary>A student crossed into risk on an indicator or model; raised once per crossing.</summary>
public sealed record RiskAlertRaised(Guid AlertId, string StudentId, string SchoolId, string Kind, string Reason, double Score, DateTimeOffset RaisedAt);

/// <summary>An outreach case was opened for an alert (or by hand).</summary>
public sealed record InterventionCaseOpened(Guid CaseId, Guid? AlertId, string StudentId, string SchoolId, DateTimeOffset OpenedAt);

/// <summary>A notification reached a staff member on a channel.</summary>
public sealed record NotificationDelivered(Guid NotificationId, string StaffId, string Channel, string Kind, Guid? AlertId, DateTimeOffset DeliveredAt);

/// <summary>Well-known values of <see cref="RiskAlertRaised.Kind"/>.</summary>
public static class RiskKinds
{
    public const string ChronicAbsence = "chronic-absence";

    /// <summary>The behaviour indicator (a suspension-like incident, or several incidents in a term).</summary>
    public const string Behavior = "behavior";

    /// <summary>The course-performance indicator (a course failure, or a low term average).</summary>
    public const string CoursePerformance = "course-performance";
}

/// <summary>A model re-scored a student: calibrated probability, band and the version that produced it.</summary>
public sealed record RiskScoreChanged(string StudentId, string SchoolId, string Kind, double Score, string Band, bool Flagged, Guid ModelId, int ModelVersion, IReadOnlyList<string> TopFactors, DateTimeOffset ScoredAt);
/// <summary>A case was given an owner (a counselor) and optional helpers; sent again on reassignment.</summary>
public sealed record InterventionAssigned(Guid CaseId, string StudentId, string SchoolId, string OwnerId, IReadOnlyList<string> HelperIds, string AssignedBy, DateTimeOffset AssignedAt);

/// <summary>An alerted student was not contacted within the configured number of school days; escalate to the school's coordinators.</summary>
public sealed record InterventionOverdue(Guid CaseId, string StudentId, string SchoolId, string? OwnerId, DateOnly ContactDueBy, int SchoolDaysOverdue, DateTimeOffset DetectedAt);

/// <summary>A case ended (completed or closed) with an outcome. Outcome "false-alarm" is feedback on the alerts that opened it.</summary>
public sealed record InterventionOutcomeRecorded(Guid CaseId, string StudentId, string SchoolId, IReadOnlyList<Guid> AlertIds, string Status, string Outcome, string? InterventionType, DateTimeOffset RecordedAt);

/// <summary>Well-known values of <see cref="InterventionOutcomeRecorded.Outcome"/>.</summary>
public static class InterventionOutcomes
{
    public const string FalseAlarm = "false-alarm";
}

/// <summary>
/// A model version became the one Early warning serves for its kind (promoted, or restored by a roll-back). Early warning's
/// own replicas hear it and load the version from the database before it is needed.
/// </summary>
public sealed record ModelActivated(Guid ModelId, string Kind, int Version, DateTimeOffset ActivatedAt);

/// <summary>
/// A model drifted between a reference ("baseline": the live window pinned when the model was first monitored; "training": the
/// model's training sample) and the window as of <paramref name="AsOf"/>: its score significantly (PSI &gt; 0.25), or one of its
/// inputs by more than <paramref name="InputAlarmPsi"/> (a change no season makes), or any input significantly when ops asked for
/// that. <paramref name="SignificantInputPsi"/> is the PSI of each of <paramref name="SignificantInputs"/>, same order, largest
/// first (null from publishers that predate it). For ops, never names.
/// </summary>
public sealed record ModelDriftDetected(Guid RunId, string Kind, Guid ModelId, int ModelVersion, string Reference, DateOnly AsOf, double ScorePsi,
    IReadOnlyList<string> SignificantInputs, int Students, DateTimeOffset DetectedAt, IReadOnlyList<double>? SignificantInputPsi = null,
    double? InputAlarmPsi = null);

/// <summary>
/// The active model's realised false-positive rate was above the bound for the last <paramref name="WeekStarts"/>.Count labelled weeks
/// in a row (one rate per week, same order). <paramref name="AlarmId"/> is stable per model version and latest week, so the daily check
/// that finds the same weeks again raises the same alarm. For ops, never names.
/// </summary>
public sealed record FalsePositiveRateExceeded(Guid AlarmId, string Kind, Guid ModelId, int ModelVersion, double Bound, IReadOnlyList<DateOnly> WeekStarts,
    IReadOnlyList<double> Rates, bool RetrainingStarted, DateTimeOffset DetectedAt);

/// <summary>
/// Before labels arrive: the active model's expected false-positive rate for <paramref name="WeekStart"/> (from its calibrated
/// scores) left the configured band [<paramref name="Low"/>, <paramref name="High"/>]. One id per model version and week.
/// </summary>
public sealed record ExpectedFalsePositiveRateOutOfBand(Guid AlarmId, string Kind, Guid ModelId, int ModelVersion, DateOnly WeekStart, double Expected,
    double Low, double High, DateTimeOffset DetectedAt);

/// <summary>
/// The active model's largest gap between subgroups of <paramref name="Attribute"/> in <paramref name="Measure"/> (false-positive
/// rate or recall, labelled students, suppressed groups left out) was above <paramref name="Bound"/> for <paramref name="WeekStart"/>.
/// One id per model version, week, attribute and measure. Groups are named, students never.
/// </summary>
public sealed record SubgroupGapExceeded(Guid AlarmId, string Kind, Guid ModelId, int ModelVersion, DateOnly WeekStart, string Attribute, string Measure,
    double Gap, double Bound, string HighestGroup, string LowestGroup, DateTimeOffset DetectedAt);

/// <summary>
/// A retraining job ended: <paramref name="Status"/> "succeeded" (a challenger, <paramref name="ChallengerModelId"/> v<paramref name="ChallengerVersion"/>,
/// waits for a person to promote it) or "failed" (<paramref name="Error"/> says why, also when the job was lost with its process).
/// </summary>
public sealed record RetrainingJobFinished(Guid JobId, string Kind, string Status, string Reason, Guid? ChallengerModelId, int? ChallengerVersion, string? Error,
    DateTimeOffset FinishedAt);

/// <summary>
/// An administrator erased a student (FERPA): every service removes or irreversibly pseudonymises what it holds about them and
/// answers with <see cref="StudentErasureConfirmed"/>. Carries the id only, never a name.
/// </summary>
public sealed record StudentErasureRequested(Guid RequestId, string StudentId, string RequestedBy, DateTimeOffset RequestedAt);

/// <summary>A service erased a student for a request: rows affected per table (zeros when it had nothing, or on redelivery).</summary>
public sealed record StudentErasureConfirmed(Guid RequestId, string StudentId, string Service, IReadOnlyDictionary<string, int> RowsAffected,
    DateTimeOffset ConfirmedAt);

/// <summary>
/// Answers stored together (up to 500 from one upload), in the order they were stored. Ingestion publishes these
/// rather than one <see cref="ItemResponseRecorded"/> per answer, for the same reason as <see cref="AttendanceBatchRecorded"/>.
/// </summary>
public sealed record ItemResponseBatchRecorded(IReadOnlyList<ItemResponseRecorded> Records);

/// <summary>
/// The score changes of one unit of work (a batch of attendance, a chunk of a re-scoring run), in the order they
/// were made. Early warning publishes these rather than one <see cref="RiskScoreChanged"/> per student: with a model
/// active every attendance record re-scores its student, and an event per record cost more than the scoring.
/// </summary>
public sealed record RiskScoresChanged(IReadOnlyList<RiskScoreChanged> Records);

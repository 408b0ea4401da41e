namespace Beacon.Interventions.Domain;

/// <summary>An outreach case for one student: opened from an alert (or by hand), assigned, worked on a plan, closed with an outcome.</summary>
public sealed class InterventionCase
{
    public Guid CaseId { get; set; }
    public required string StudentId { get; set; }
    public required string SchoolId { get; set; }
    public string Status { get; set; } = CaseStatuses.Open;
    public required string Reason { get; set; }

    /// <summary>The counselor who owns the case.</summary>
    public string? AssignedTo { get; set; }

    /// <summary>Helpers, comma-separated (a short list, always read with the case).</summary>
    public string Helpers { get; set; } = "";
    public DateTimeOffset OpenedAt { get; set; }
    public string OpenedBy { get; set; } = "alert";

    /// <summary>The last school day on which the student must have been contacted (SLA).</summary>
    public DateOnly ContactDueBy { get; set; }
    public DateTimeOffset? FirstContactAt { get; set; }
    public DateTimeOffset? LastContactAt { get; set; }

    /// <summary>The next check-in the owner scheduled (a school day), or none.</summary>
    public DateOnly? NextCheckIn { get; set; }

    /// <summary>Set when a counselor took the case themself rather than a coordinator assigning it: who took it.</summary>
    public string? TakenBy { get; set; }
    public DateTimeOffset? EscalatedAt { get; set; }
    public InterventionPlan? Plan { get; set; }
    public string? Outcome { get; set; }
    public DateTimeOffset? EndedAt { get; set; }
    public List<CaseAlert> Alerts { get; set; } = [];
    public List<CaseActivity> Activity { get; set; } = [];

    public IReadOnlyList<string> HelperIds => Helpers.Length == 0 ? [] : Helpers.Split(',');
}

/// <summary>What the school does for the student, from when, for how long, and how often someone checks in.</summary>
public sealed class InterventionPlan
{
    public required string Type { get; set; }
    public int Tier { get; set; }
    public required string Goal { get; set; }
    public DateOnly StartDate { get; set; }
    public int DurationWeeks { get; set; }
    public required string CheckInFrequency { get; set; }

    /// <summary>Staff hours the plan expects in all (optional): the cost side of "what works per hour" when no time is logged.</summary>
    public double? ExpectedHours { get; set; }

    /// <summary>
    /// The student's worst risk band when the plan was set (Early warning's bands; unscored when none): what works is
    /// compared among students who were alike before, not after the intervention moved them.
    /// </summary>
    public string? RiskBandAtStart { get; set; }
}

/// <summary>Links an alert to the case it opened or joined; the alert id is the key, so each alert is handled once.</summary>
public sealed class CaseAlert
{
    public Guid AlertId { get; set; }
    public Guid CaseId { get; set; }
    public required string Kind { get; set; }
    public DateTimeOffset RaisedAt { get; set; }
}

/// <summary>One line of a case's history: every change and every note, in order.</summary>
public sealed class CaseActivity
{
    public long Id { get; set; }
    public Guid CaseId { get; set; }
    public DateTimeOffset At { get; set; }
    public required string Kind { get; set; }
    public required string By { get; set; }
    public required string Text { get; set; }

    /// <summary>Staff minutes the note or contact took, when logged.</summary>
    public int? MinutesSpent { get; set; }
}

public static class CaseStatuses
{
    public const string Open = "open";
    public const string Assigned = "assigned";
    public const string InProgress = "in-progress";
    public const string Completed = "completed";
    public const string Closed = "closed";

    // Arrays (not sets) so EF Core can translate Contains into SQL IN.
    public static readonly string[] Active = [Open, Assigned, InProgress];
    public static readonly string[] All = [Open, Assigned, InProgress, Completed, Closed];
}

public static class Outcomes
{
    public const string Improved = "improved";
    public const string NoChange = "no-change";
    public const string Worsened = "worsened";
    public const string Moved = "moved";
    public const string Duplicate = "duplicate";
    public const string FalseAlarm = "false-alarm";
    public static readonly string[] All = [Improved, NoChange, Worsened, Moved, Duplicate, FalseAlarm];
}

public static class InterventionTypes
{
    public static readonly string[] All = ["attendance-outreach", "tutoring", "re-teach-module", "small-group-session", "family-meeting", "referral"];
}

public static class CheckInFrequencies
{
    public static readonly string[] All = ["daily", "twice-weekly", "weekly", "biweekly", "monthly"];
}

/// <summary>Who a contact was with, and how it was made.</summary>
public static class ContactParties
{
    public static readonly string[] All = ["student", "parent-guardian", "teacher"];
}

public static class ContactMethods
{
    public static readonly string[] All = ["call", "meeting", "message"];
}

public static class ActivityKinds
{
    public const string Opened = "opened";
    public const string AlertAttached = "alert-attached";
    public const string Assigned = "assigned";
    public const string PlanSet = "plan-set";
    public const string Started = "started";
    public const string Note = "note";
    public const string Contact = "contact";
    public const string Taken = "taken";
    public const string StaffLeft = "staff-left";
    public const string CheckInScheduled = "check-in-scheduled";
    public const string Escalated = "escalated";
    public const string Completed = "completed";
    public const string Closed = "closed";
}

namespace Beacon.Interventions.Domain;

/// <summary>A request that breaks the case's rules (wrong state, bad value). Becomes problem details, never a 500.</summary>
public sealed class CaseRuleException(string field, string message, bool conflict = true) : Exception(message)
{
    public string Field { get; } = field;

    /// <summary>True when the case's state forbids it (409); false when the value itself is wrong (400).</summary>
    public bool Conflict { get; } = conflict;
}

/// <summary>
/// The status flow: open → assigned → in-progress → completed, and any active case → closed.
/// Completed and closed cases are final and carry an outcome. Every change leaves a line of history.
/// </summary>
public static class CaseWorkflow
{
    public static void Assign(InterventionCase c, string ownerId, IReadOnlyList<string> helperIds, string by, DateTimeOffset now)
    {
        RequireActive(c, "assign");
        c.AssignedTo = ownerId;
        c.Helpers = string.Join(',', helperIds.Where(h => h != ownerId).Distinct());
        if (c.Status == CaseStatuses.Open)
        {
            c.Status = CaseStatuses.Assigned;
        }
        var helpers = c.Helpers.Length == 0 ? "" : $" with helpers {c.Helpers.Replace(",", ", ")}";
        Log(c, now, ActivityKinds.Assigned, by, $"Assigned to {ownerId}{helpers}.");
    }

    /// <summary>
    /// A counselor takes an unassigned case of their school: it becomes theirs as if a coordinator had assigned it,
    /// and the history says it was taken, so the coordinator sees who took what.
    /// </summary>
    public static void Take(InterventionCase c, string counselorId, DateTimeOffset now)
    {
        if (c.Status != CaseStatuses.Open || c.AssignedTo is not null)
        {
            throw new CaseRuleException("status", c.AssignedTo is null
                ? $"Only an open, unassigned case can be taken; this case is {c.Status}."
                : $"This case is already {c.AssignedTo}'s; ask the coordinator to reassign it.");
        }
        c.AssignedTo = counselorId;
        c.TakenBy = counselorId;
        c.Status = CaseStatuses.Assigned;
        Log(c, now, ActivityKinds.Taken, counselorId, $"Taken by {counselorId}.");
    }

    /// <summary>
    /// A staff member left the roster: a case they owned goes back to open and unassigned, so it is in the coordinator's
    /// list of alerts without an owner (its plan, notes and history stay); where they only helped, they stop helping.
    /// </summary>
    public static void StaffLeft(InterventionCase c, string staffId, string reason, DateTimeOffset now)
    {
        var helpers = c.HelperIds.Where(h => h != staffId).ToList();
        if (helpers.Count != c.HelperIds.Count)
        {
            c.Helpers = string.Join(',', helpers);
            Log(c, now, ActivityKinds.StaffLeft, "roster", $"{staffId} left the school ({reason}) and no longer helps with this case.");
        }
        if (c.AssignedTo != staffId)
        {
            return;
        }
        var was = c.Status;
        (c.AssignedTo, c.TakenBy, c.Status) = (null, null, CaseStatuses.Open);
        Log(c, now, ActivityKinds.StaffLeft, "roster", $"{staffId}, the owner, left the school ({reason}); the case ({was}) needs a new owner.");
    }

    /// <summary>A contact: with whom (student, parent/guardian, teacher), how (call, meeting, message), what came of it.</summary>
    public static void LogContact(InterventionCase c, string with, string how, string? note, string by, DateTimeOffset now, int? minutesSpent = null)
    {
        RequireActive(c, "record a contact on");
        c.FirstContactAt ??= now;
        c.LastContactAt = now;
        var what = $"{char.ToUpperInvariant(how[0])}{how[1..]} with {(with == "parent-guardian" ? "parent/guardian" : with)}.";
        Log(c, now, ActivityKinds.Contact, by, string.IsNullOrWhiteSpace(note) ? what : $"{what} {note.Trim()}", minutesSpent);
    }

    /// <summary>Schedules the next check-in; a date before today is a bad value, not a plan.</summary>
    public static void ScheduleCheckIn(InterventionCase c, DateOnly date, DateOnly today, string by, DateTimeOffset now)
    {
        RequireActive(c, "schedule a check-in on");
        if (date < today)
        {
            throw new CaseRuleException("date", $"{date:yyyy-MM-dd} is in the past; the next check-in is today or later.", conflict: false);
        }
        c.NextCheckIn = date;
        Log(c, now, ActivityKinds.CheckInScheduled, by, $"Next check-in on {date:yyyy-MM-dd}.");
    }

    public static void SetPlan(InterventionCase c, InterventionPlan plan, string by, DateTimeOffset now)
    {
        RequireActive(c, "plan");
        c.Plan = plan;
        Log(c, now, ActivityKinds.PlanSet, by,
            $"Plan: {plan.Type}, tier {plan.Tier}, from {plan.StartDate:yyyy-MM-dd} for {plan.DurationWeeks} week(s), check-in {plan.CheckInFrequency}"
            + (plan.ExpectedHours is { } hours ? $", about {hours:0.##} staff hour(s)" : "") + $". Goal: {plan.Goal}");
    }

    public static void Start(InterventionCase c, string by, DateTimeOffset now)
    {
        if (c.Status != CaseStatuses.Assigned)
        {
            throw new CaseRuleException("status", $"Only an assigned case can be started; this case is {c.Status}.");
        }
        if (c.Plan is null)
        {
            throw new CaseRuleException("plan", "Set a plan (type, tier, goal, start date, duration, check-in frequency) before starting.");
        }
        c.Status = CaseStatuses.InProgress;
        // Starting work means someone reached the student.
        c.FirstContactAt ??= now;
        Log(c, now, ActivityKinds.Started, by, $"Started {c.Plan.Type}.");
    }

    public static void AddNote(InterventionCase c, string text, bool isContact, string by, DateTimeOffset now, int? minutesSpent = null)
    {
        if (isContact)
        {
            RequireActive(c, "record a contact on");
            c.FirstContactAt ??= now;
            c.LastContactAt = now;
        }
        Log(c, now, isContact ? ActivityKinds.Contact : ActivityKinds.Note, by, text, minutesSpent);
    }

    public static void Complete(InterventionCase c, string outcome, string by, DateTimeOffset now)
    {
        RequireOutcome(outcome);
        if (c.Status != CaseStatuses.InProgress)
        {
            throw new CaseRuleException("status", $"Only a case in progress can be completed; this case is {c.Status}. Close it instead.");
        }
        c.Status = CaseStatuses.Completed;
        c.Outcome = outcome;
        c.EndedAt = now;
        Log(c, now, ActivityKinds.Completed, by, $"Completed: {outcome}.");
    }

    public static void Close(InterventionCase c, string outcome, string? reason, string by, DateTimeOffset now)
    {
        RequireOutcome(outcome);
        RequireActive(c, "close");
        c.Status = CaseStatuses.Closed;
        c.Outcome = outcome;
        c.EndedAt = now;
        Log(c, now, ActivityKinds.Closed, by, string.IsNullOrWhiteSpace(reason) ? $"Closed: {outcome}." : $"Closed: {outcome}. {reason}");
    }

    public static void Log(InterventionCase c, DateTimeOffset now, string kind, string by, string text, int? minutesSpent = null) =>
        c.Activity.Add(new CaseActivity { CaseId = c.CaseId, At = now, Kind = kind, By = by, Text = text, MinutesSpent = minutesSpent });

    private static void RequireActive(InterventionCase c, string action)
    {
        if (!CaseStatuses.Active.Contains(c.Status))
        {
            throw new CaseRuleException("status", $"Cannot {action} a {c.Status} case; it ended with outcome '{c.Outcome}'.");
        }
    }

    private static void RequireOutcome(string outcome)
    {
        if (!Outcomes.All.Contains(outcome))
        {
            throw new CaseRuleException("outcome", $"'{outcome}' is not a known outcome; use {string.Join(", ", Outcomes.All)}.", conflict: false);
        }
    }
}

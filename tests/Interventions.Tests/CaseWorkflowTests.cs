using Beacon.Interventions.Domain;

namespace Beacon.Interventions.Tests;

public sealed class CaseWorkflowTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

    private static InterventionCase NewCase() => new() { CaseId = Guid.NewGuid(), StudentId = "s1", SchoolId = "sch", Reason = "r" };

    private static InterventionPlan Plan() => new()
    {
        Type = "attendance-outreach",
        Tier = 2,
        Goal = "Attend 95 %",
        StartDate = new DateOnly(2026, 11, 2),
        DurationWeeks = 4,
        CheckInFrequency = "weekly",
    };

    [Fact]
    public void The_happy_path_goes_open_assigned_in_progress_completed_and_leaves_history()
    {
        var c = NewCase();
        CaseWorkflow.Assign(c, "c1", ["c2", "c1", "c2"], "coord", Now);
        Assert.Equal(CaseStatuses.Assigned, c.Status);
        Assert.Equal(["c2"], c.HelperIds);
        CaseWorkflow.SetPlan(c, Plan(), "c1", Now);
        CaseWorkflow.Start(c, "c1", Now.AddHours(1));
        Assert.Equal(CaseStatuses.InProgress, c.Status);
        Assert.Equal(Now.AddHours(1), c.FirstContactAt);
        CaseWorkflow.AddNote(c, "Called home.", isContact: false, "c1", Now.AddHours(2));
        CaseWorkflow.Complete(c, Outcomes.Improved, "c1", Now.AddDays(30));
        Assert.Equal(CaseStatuses.Completed, c.Status);
        Assert.Equal(Outcomes.Improved, c.Outcome);
        Assert.Equal([ActivityKinds.Assigned, ActivityKinds.PlanSet, ActivityKinds.Started, ActivityKinds.Note, ActivityKinds.Completed],
            c.Activity.Select(a => a.Kind));
    }

    [Fact]
    public void Reassigning_keeps_the_case_active_and_changes_the_owner()
    {
        var c = NewCase();
        CaseWorkflow.Assign(c, "c1", [], "coord", Now);
        CaseWorkflow.Assign(c, "c2", [], "coord", Now);
        Assert.Equal("c2", c.AssignedTo);
        Assert.Equal(CaseStatuses.Assigned, c.Status);
    }

    [Fact]
    public void Starting_an_open_case_is_rejected()
    {
        var c = NewCase();
        var ex = Assert.Throws<CaseRuleException>(() => CaseWorkflow.Start(c, "c1", Now));
        Assert.Equal("status", ex.Field);
        Assert.True(ex.Conflict);
    }

    [Fact]
    public void Starting_without_a_plan_is_rejected()
    {
        var c = NewCase();
        CaseWorkflow.Assign(c, "c1", [], "coord", Now);
        Assert.Equal("plan", Assert.Throws<CaseRuleException>(() => CaseWorkflow.Start(c, "c1", Now)).Field);
        Assert.Equal(CaseStatuses.Assigned, c.Status);
    }

    [Theory]
    [InlineData(CaseStatuses.Open)]
    [InlineData(CaseStatuses.Assigned)]
    public void Only_a_case_in_progress_can_be_completed(string status)
    {
        var c = NewCase();
        c.Status = status;
        Assert.Throws<CaseRuleException>(() => CaseWorkflow.Complete(c, Outcomes.Improved, "c1", Now));
        Assert.Equal(status, c.Status);
        Assert.Null(c.Outcome);
    }

    [Fact]
    public void An_active_case_can_be_closed_as_a_false_alarm_and_then_nothing_more_changes()
    {
        var c = NewCase();
        CaseWorkflow.Close(c, Outcomes.FalseAlarm, "Was on a school trip.", "coord", Now);
        Assert.Equal(CaseStatuses.Closed, c.Status);
        Assert.Equal(Outcomes.FalseAlarm, c.Outcome);
        Assert.Throws<CaseRuleException>(() => CaseWorkflow.Assign(c, "c1", [], "coord", Now));
        Assert.Throws<CaseRuleException>(() => CaseWorkflow.Close(c, Outcomes.Duplicate, null, "coord", Now));
        Assert.Throws<CaseRuleException>(() => CaseWorkflow.SetPlan(c, Plan(), "coord", Now));
        Assert.Throws<CaseRuleException>(() => CaseWorkflow.AddNote(c, "called", isContact: true, "c1", Now));
        // A plain note on a closed case is still allowed (history), but changes nothing else.
        CaseWorkflow.AddNote(c, "Follow-up: back in class.", isContact: false, "c1", Now);
        Assert.Equal(CaseStatuses.Closed, c.Status);
    }

    [Fact]
    public void An_unknown_outcome_is_a_bad_value_not_a_state_conflict()
    {
        var c = NewCase();
        var ex = Assert.Throws<CaseRuleException>(() => CaseWorkflow.Close(c, "solved", null, "coord", Now));
        Assert.Equal("outcome", ex.Field);
        Assert.False(ex.Conflict);
        Assert.Equal(CaseStatuses.Open, c.Status);
    }

    [Fact]
    public void A_contact_note_sets_the_first_contact_once()
    {
        var c = NewCase();
        CaseWorkflow.AddNote(c, "Phoned parent.", isContact: true, "c1", Now);
        CaseWorkflow.AddNote(c, "Phoned again.", isContact: true, "c1", Now.AddDays(1));
        Assert.Equal(Now, c.FirstContactAt);
    }
}

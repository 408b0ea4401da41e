namespace Beacon.Interventions.Domain;

/// <summary>Configuration section "Interventions".</summary>
public sealed class InterventionsOptions
{
    /// <summary>An alerted student must be contacted within this many school days of the case opening.</summary>
    public int ContactWithinSchoolDays { get; set; } = 3;

    /// <summary>Non-school weekdays (yyyy-MM-dd).</summary>
    public List<DateOnly> Holidays { get; set; } = [];

    /// <summary>How often the overdue check runs.</summary>
    public TimeSpan OverdueScanInterval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Weeks of attendance compared before and after an intervention's start (1 or 2).</summary>
    public int EffectWindowWeeks { get; set; } = 2;

    /// <summary>A subgroup's mastery effect is shown only with at least this many students (as Early warning's fairness figures).</summary>
    public int MinimumGroupSize { get; set; } = 20;

    /// <summary>How long the district's figures behind a case's suggested types are kept before they are built again.</summary>
    public TimeSpan SuggestionCacheDuration { get; set; } = TimeSpan.FromMinutes(5);

    public SchoolCalendar Calendar() => new(Holidays);
}

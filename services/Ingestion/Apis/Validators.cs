using Beacon.Ingestion.Domain;
using FluentValidation;

namespace Beacon.Ingestion.Apis;

internal static class Rules
{
    public const int MaxIdLength = 64;
    public const int MaxNameLength = 200;

    /// <summary>A value quoted back in an error message, cut short so a hostile value cannot bloat the answer.</summary>
    public static string Show(object? value) => value?.ToString() is { } text ? (text.Length <= 40 ? text : text[..40] + "…") : "";

    public static IRuleBuilderOptions<T, string?> Identifier<T>(this IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().WithMessage("is required.")
            .MaximumLength(MaxIdLength).WithMessage($"must be at most {MaxIdLength} characters.");

    public static IRuleBuilderOptions<T, string?> SchoolDate<T>(this IRuleBuilder<T, string?> rule, DateOnly today) =>
        rule.NotEmpty().WithMessage("is required (yyyy-MM-dd).")
            .Must(d => DateOnly.TryParseExact(d, "yyyy-MM-dd", out _)).WithMessage(d => $"'{Rules.Show(d)}' is not a date in the form yyyy-MM-dd.")
            .Must(d => !DateOnly.TryParseExact(d, "yyyy-MM-dd", out var date) || date <= today)
            .WithMessage(d => $"is in the future (today is {today:yyyy-MM-dd}).");
}

public sealed class SchoolRowValidator : AbstractValidator<SchoolRow>
{
    public SchoolRowValidator()
    {
        RuleFor(r => r.SchoolId).Identifier();
        RuleFor(r => r.Name).NotEmpty().WithMessage("is required.").MaximumLength(Rules.MaxNameLength);
    }
}

public sealed class StaffRowValidator : AbstractValidator<StaffRow>
{
    public StaffRowValidator(Func<string, bool> schoolKnown)
    {
        RuleFor(r => r.StaffId).Identifier();
        RuleFor(r => r.SchoolId).Identifier()
            .Must(id => id is null || schoolKnown(id)).WithMessage(r => $"school '{Rules.Show(r.SchoolId)}' is not on the roster.");
        RuleFor(r => r.Role).Must(r => r is not null && StaffRoles.All.Contains(r))
            .WithMessage(r => $"'{Rules.Show(r.Role)}' is not a known role; use {string.Join(", ", StaffRoles.All)}.");
        RuleFor(r => r.GivenName).NotEmpty().WithMessage("is required.").MaximumLength(Rules.MaxNameLength);
        RuleFor(r => r.FamilyName).NotEmpty().WithMessage("is required.").MaximumLength(Rules.MaxNameLength);
        RuleFor(r => r.Email).EmailAddress().When(r => !string.IsNullOrEmpty(r.Email)).WithMessage("is not an email address.");
    }
}

public sealed class StudentRowValidator : AbstractValidator<StudentRow>
{
    public StudentRowValidator(Func<string, bool> schoolKnown)
    {
        RuleFor(r => r.StudentId).Identifier();
        RuleFor(r => r.SchoolId).Identifier()
            .Must(id => id is null || schoolKnown(id)).WithMessage(r => $"school '{Rules.Show(r.SchoolId)}' is not on the roster.");
        RuleFor(r => r.GivenName).NotEmpty().WithMessage("is required.").MaximumLength(Rules.MaxNameLength);
        RuleFor(r => r.FamilyName).NotEmpty().WithMessage("is required.").MaximumLength(Rules.MaxNameLength);
        RuleFor(r => r.GradeLevel).MaximumLength(16);
    }
}

public sealed class AttendanceRowValidator : AbstractValidator<AttendanceRow>
{
    public AttendanceRowValidator(Func<string, bool> studentKnown, DateOnly today)
    {
        RuleFor(r => r.StudentId).Identifier()
            .Must(id => id is null || studentKnown(id)).WithMessage(r => $"student '{Rules.Show(r.StudentId)}' is not on the roster.");
        RuleFor(r => r.Date).SchoolDate(today);
        RuleFor(r => r.Status).Must(s => s is not null && AttendanceStatuses.All.Contains(s))
            .WithMessage(r => $"'{Rules.Show(r.Status)}' is not a known status; use {string.Join(", ", AttendanceStatuses.All)}.");
        RuleFor(r => r.Period).MaximumLength(16).WithMessage("must be at most 16 characters.");
    }
}

public sealed class GradeRowValidator : AbstractValidator<GradeRow>
{
    public GradeRowValidator(Func<string, bool> studentKnown, DateOnly today)
    {
        RuleFor(r => r.StudentId).Identifier()
            .Must(id => id is null || studentKnown(id)).WithMessage(r => $"student '{Rules.Show(r.StudentId)}' is not on the roster.");
        RuleFor(r => r.CourseId).Identifier();
        RuleFor(r => r.Term).Identifier();
        RuleFor(r => r.MarkPercent).NotNull().WithMessage("is required (0 to 100).")
            .InclusiveBetween(0, 100).WithMessage(r => $"{r.MarkPercent} is not a percentage (0 to 100).");
        RuleFor(r => r.Date).SchoolDate(today);
    }
}

public sealed class BehaviorIncidentRowValidator : AbstractValidator<BehaviorIncidentRow>
{
    public BehaviorIncidentRowValidator(Func<string, bool> studentKnown, DateOnly today)
    {
        RuleFor(r => r.IncidentId).Identifier();
        RuleFor(r => r.StudentId).Identifier()
            .Must(id => id is null || studentKnown(id)).WithMessage(r => $"student '{Rules.Show(r.StudentId)}' is not on the roster.");
        RuleFor(r => r.Date).SchoolDate(today);
        RuleFor(r => r.Category).Must(c => c is not null && BehaviorCategories.All.Contains(c))
            .WithMessage(r => $"'{Rules.Show(r.Category)}' is not a known category; use {string.Join(", ", BehaviorCategories.All)}.");
        RuleFor(r => r.Severity).Must(s => s is not null && BehaviorSeverities.All.Contains(s))
            .WithMessage(r => $"'{Rules.Show(r.Severity)}' is not a known severity; use {string.Join(", ", BehaviorSeverities.All)}.");
    }
}

public sealed class ItemResponseRowValidator : AbstractValidator<ItemResponseRow>
{
    public ItemResponseRowValidator(Func<string, bool> studentKnown, DateTimeOffset now)
    {
        RuleFor(r => r.StudentId).Identifier()
            .Must(id => id is null || studentKnown(id)).WithMessage(r => $"student '{Rules.Show(r.StudentId)}' is not on the roster.");
        RuleFor(r => r.ItemId).Identifier();
        RuleFor(r => r.SkillIds).NotEmpty().WithMessage("must name at least one skill.");
        RuleForEach(r => r.SkillIds).Identifier();
        RuleFor(r => r.Correct).NotNull().WithMessage("is required (true or false).");
        RuleFor(r => r.AttemptNumber).NotNull().WithMessage("is required.").GreaterThanOrEqualTo(1).WithMessage("must be 1 or more.");
        RuleFor(r => r.HintsUsed).GreaterThanOrEqualTo(0).WithMessage("must not be negative.");
        RuleFor(r => r.TimeOnTaskSeconds).GreaterThanOrEqualTo(0).WithMessage("must not be negative.");
        RuleFor(r => r.AnsweredAt).NotNull().WithMessage("is required.")
            .Must(t => t is null || t <= now.AddMinutes(5)).WithMessage("is in the future.");
    }
}

public sealed class LmsActivityRowValidator : AbstractValidator<LmsActivityRow>
{
    public LmsActivityRowValidator(Func<string, bool> studentKnown, DateTimeOffset now)
    {
        RuleFor(r => r.StatementId).NotEmpty().WithMessage("is required.").MaximumLength(100);
        RuleFor(r => r.StudentId).Identifier()
            .Must(id => id is null || studentKnown(id)).WithMessage(r => $"student '{Rules.Show(r.StudentId)}' is not on the roster.");
        RuleFor(r => r.ObjectId).NotEmpty().WithMessage("is required.").MaximumLength(500);
        RuleFor(r => r.DurationSeconds).GreaterThanOrEqualTo(0).WithMessage("must not be negative.");
        RuleFor(r => r.Timestamp).NotNull().WithMessage("is required.")
            .Must(t => t is null || t <= now.AddMinutes(5)).WithMessage("is in the future.");
    }
}

public sealed class CatalogRowValidator : AbstractValidator<CatalogRow>
{
    public CatalogRowValidator()
    {
        RuleFor(r => r.ActivityId).NotEmpty().WithMessage("is required (the activity's IRI).").MaximumLength(500)
            .Must(id => id is null || Uri.TryCreate(id, UriKind.Absolute, out _)).WithMessage(r => $"'{Rules.Show(r.ActivityId)}' is not an absolute IRI.");
        RuleFor(r => r.ItemId).MaximumLength(Rules.MaxIdLength).WithMessage($"must be at most {Rules.MaxIdLength} characters.");
        RuleFor(r => r.SkillIds).NotEmpty().WithMessage("must name at least one skill.");
        RuleForEach(r => r.SkillIds).Identifier();
    }
}

public sealed class IdentifierRowValidator : AbstractValidator<IdentifierRow>
{
    public IdentifierRowValidator(Func<string, bool> studentKnown)
    {
        RuleFor(r => r.StudentId).Identifier()
            .Must(id => id is null || studentKnown(id)).WithMessage(r => $"student '{Rules.Show(r.StudentId)}' is not on the roster.");
        RuleFor(r => r.Kind).Must(k => k is not null && IdentifierKinds.All.Contains(k))
            .WithMessage(r => $"'{Rules.Show(r.Kind)}' is not a known kind; use {string.Join(", ", IdentifierKinds.All)}.");
        RuleFor(r => r.Value).NotEmpty().WithMessage("is required.").MaximumLength(320);
        RuleFor(r => r.Value).Matches("^[0-9a-fA-F]{40}$").When(r => r.Kind == IdentifierKinds.MboxSha1Sum).WithMessage("is not the 40 hexadecimal digits of a SHA-1 sum.");
        RuleFor(r => r.HomePage).NotEmpty().When(r => r.Kind == IdentifierKinds.Account).WithMessage("is required for an account (the system the account is on).")
            .Must(h => h is null || Uri.TryCreate(h, UriKind.Absolute, out _)).WithMessage(r => $"'{Rules.Show(r.HomePage)}' is not an absolute IRL.");
    }
}

public sealed class CalendarRowValidator : AbstractValidator<CalendarRow>
{
    /// <summary>A school year is at most this long (a leap year and a day of slack).</summary>
    public const int MaxYearDays = 367;

    public CalendarRowValidator(Func<string, bool> schoolKnown)
    {
        static bool IsDate(string? d) => DateOnly.TryParseExact(d, "yyyy-MM-dd", out _);
        static DateOnly? Parse(string? d) => DateOnly.TryParseExact(d, "yyyy-MM-dd", out var date) ? date : null;
        RuleFor(r => r.SchoolYear).NotEmpty().WithMessage("is required (the year's name, e.g. 2026-2027).")
            .MaximumLength(Rules.MaxIdLength).WithMessage($"must be at most {Rules.MaxIdLength} characters.");
        RuleFor(r => r.SchoolId).MaximumLength(Rules.MaxIdLength).WithMessage($"must be at most {Rules.MaxIdLength} characters.")
            .Must(id => string.IsNullOrEmpty(id) || schoolKnown(id)).WithMessage(r => $"school '{Rules.Show(r.SchoolId)}' is not on the roster (leave it empty for the district's calendar).");
        RuleFor(r => r.Type).Must(t => t is not null && CalendarEntryTypes.All.Contains(t))
            .WithMessage(r => $"'{Rules.Show(r.Type)}' is not a calendar line type; use {string.Join(" or ", CalendarEntryTypes.All)}.");
        RuleFor(r => r.StartDate).NotEmpty().WithMessage("is required (yyyy-MM-dd).")
            .Must(IsDate).WithMessage(r => $"'{Rules.Show(r.StartDate)}' is not a date in the form yyyy-MM-dd.");
        RuleFor(r => r.EndDate).NotEmpty().When(r => r.Type == CalendarEntryTypes.SchoolYear).WithMessage("is required for a school year (its last school day, yyyy-MM-dd).");
        RuleFor(r => r.EndDate).Must(IsDate).When(r => !string.IsNullOrEmpty(r.EndDate))
            .WithMessage(r => $"'{Rules.Show(r.EndDate)}' is not a date in the form yyyy-MM-dd.");
        RuleFor(r => r.EndDate).Must((r, end) => Parse(end) is not { } e || Parse(r.StartDate) is not { } s || e >= s)
            .WithMessage("is before startDate.");
        RuleFor(r => r.EndDate).Must((r, end) => r.Type != CalendarEntryTypes.SchoolYear || Parse(end) is not { } e || Parse(r.StartDate) is not { } s
                || e.DayNumber - s.DayNumber < MaxYearDays)
            .WithMessage($"makes the school year longer than {MaxYearDays} days.");
        RuleFor(r => r.Description).MaximumLength(Rules.MaxNameLength).WithMessage($"must be at most {Rules.MaxNameLength} characters.");
    }
}

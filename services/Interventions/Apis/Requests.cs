using Beacon.Interventions.Domain;
using FluentValidation;

namespace Beacon.Interventions.Apis;

// Bodies use nullable strings so that a missing or unknown value is reported by field, not as a parse failure.
// OpenedBy, AssignedBy, By and AuthorId are optional: the acting user is the token's subject (ActingUser).

public sealed record OpenCaseRequest(string? StudentId, string? SchoolId, string? Reason, string? OpenedBy);
public sealed record AssignRequest(string? OwnerId, List<string>? HelperIds, string? AssignedBy);
public sealed record BulkAssignRequest(List<string>? CaseIds, string? OwnerId, List<string>? HelperIds, string? AssignedBy);
public sealed record PlanRequest(string? Type, int? Tier, string? Goal, string? StartDate, int? DurationWeeks, string? CheckInFrequency, string? By,
    double? ExpectedHours = null);
public sealed record StartRequest(string? By);
public sealed record NoteRequest(string? Text, string? AuthorId, bool? Contact, int? MinutesSpent = null);
public sealed record TakeRequest(string? By);
public sealed record ContactRequest(string? With, string? How, string? Note, string? By, int? MinutesSpent = null);
public sealed record CheckInRequest(string? Date, string? By);
public sealed record OutcomeRequest(string? Outcome, string? By, string? Reason);

internal static class Rules
{
    public const int MaxIdLength = 64;

    /// <summary>Staff time logged with a note or contact: optional, whole minutes, at most a working day.</summary>
    public static IRuleBuilderOptions<T, int?> MinutesSpent<T>(this IRuleBuilder<T, int?> rule) =>
        rule.InclusiveBetween(1, 600).WithMessage("must be between 1 and 600 minutes (or left out).");

    public static IRuleBuilderOptions<T, string?> Identifier<T>(this IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().WithMessage("is required.")
            .MaximumLength(MaxIdLength).WithMessage($"must be at most {MaxIdLength} characters.");

    /// <summary>The acting-user fields: may be left out; when given, a plausible id (ActingUser checks it is the caller).</summary>
    public static IRuleBuilderOptions<T, string?> OptionalIdentifier<T>(this IRuleBuilder<T, string?> rule) =>
        rule.MaximumLength(MaxIdLength).WithMessage($"must be at most {MaxIdLength} characters.");

    public static IRuleBuilderOptions<T, string?> OneOf<T>(this IRuleBuilder<T, string?> rule, string[] allowed) =>
        rule.Must(v => v is not null && allowed.Contains(v)).WithMessage((_, v) => $"'{v}' is not allowed; use {string.Join(", ", allowed)}.");
}

public sealed class OpenCaseValidator : AbstractValidator<OpenCaseRequest>
{
    public OpenCaseValidator()
    {
        RuleFor(r => r.StudentId).Identifier();
        RuleFor(r => r.SchoolId).Identifier();
        RuleFor(r => r.OpenedBy).OptionalIdentifier();
        RuleFor(r => r.Reason).NotEmpty().WithMessage("is required.").MaximumLength(2000);
    }
}

public sealed class AssignValidator : AbstractValidator<AssignRequest>
{
    public AssignValidator()
    {
        RuleFor(r => r.OwnerId).Identifier();
        RuleFor(r => r.AssignedBy).OptionalIdentifier();
        RuleFor(r => r.HelperIds).Must(h => h is null || h.Count <= 10).WithMessage("at most 10 helpers.");
        RuleForEach(r => r.HelperIds).Identifier();
    }
}

public sealed class BulkAssignValidator : AbstractValidator<BulkAssignRequest>
{
    public BulkAssignValidator()
    {
        RuleFor(r => r.CaseIds).NotEmpty().WithMessage("name at least one case.")
            .Must(c => c is null || c.Count <= 500).WithMessage("at most 500 cases at once.");
        RuleFor(r => r.OwnerId).Identifier();
        RuleFor(r => r.AssignedBy).OptionalIdentifier();
        RuleForEach(r => r.HelperIds).Identifier();
    }
}

public sealed class PlanValidator : AbstractValidator<PlanRequest>
{
    public PlanValidator()
    {
        RuleFor(r => r.Type).OneOf(InterventionTypes.All);
        RuleFor(r => r.Tier).NotNull().WithMessage("is required (1, 2 or 3).").InclusiveBetween(1, 3).WithMessage("must be 1, 2 or 3.");
        RuleFor(r => r.Goal).NotEmpty().WithMessage("is required.").MaximumLength(2000);
        RuleFor(r => r.StartDate).NotEmpty().WithMessage("is required (yyyy-MM-dd).")
            .Must(d => DateOnly.TryParseExact(d, "yyyy-MM-dd", out _)).WithMessage((_, d) => $"'{d}' is not a date in the form yyyy-MM-dd.");
        RuleFor(r => r.DurationWeeks).NotNull().WithMessage("is required.").InclusiveBetween(1, 52).WithMessage("must be between 1 and 52 weeks.");
        RuleFor(r => r.CheckInFrequency).OneOf(CheckInFrequencies.All);
        RuleFor(r => r.By).OptionalIdentifier();
        RuleFor(r => r.ExpectedHours).InclusiveBetween(0.25, 500).When(r => r.ExpectedHours is not null)
            .WithMessage("must be between 0.25 and 500 hours (or left out).");
    }
}

public sealed class StartValidator : AbstractValidator<StartRequest>
{
    public StartValidator() => RuleFor(r => r.By).OptionalIdentifier();
}

public sealed class NoteValidator : AbstractValidator<NoteRequest>
{
    public NoteValidator()
    {
        RuleFor(r => r.Text).NotEmpty().WithMessage("is required.").MaximumLength(4000);
        RuleFor(r => r.AuthorId).OptionalIdentifier();
        RuleFor(r => r.MinutesSpent).MinutesSpent();
    }
}

public sealed class OutcomeValidator : AbstractValidator<OutcomeRequest>
{
    public OutcomeValidator()
    {
        RuleFor(r => r.Outcome).OneOf(Outcomes.All);
        RuleFor(r => r.By).OptionalIdentifier();
        RuleFor(r => r.Reason).MaximumLength(2000);
    }
}

public sealed class TakeValidator : AbstractValidator<TakeRequest>
{
    public TakeValidator() => RuleFor(r => r.By).OptionalIdentifier();
}

public sealed class ContactValidator : AbstractValidator<ContactRequest>
{
    public ContactValidator()
    {
        RuleFor(r => r.With).OneOf(ContactParties.All);
        RuleFor(r => r.How).OneOf(ContactMethods.All);
        RuleFor(r => r.Note).MaximumLength(4000);
        RuleFor(r => r.By).OptionalIdentifier();
        RuleFor(r => r.MinutesSpent).MinutesSpent();
    }
}

public sealed class CheckInValidator : AbstractValidator<CheckInRequest>
{
    public CheckInValidator()
    {
        RuleFor(r => r.Date).NotEmpty().WithMessage("is required (yyyy-MM-dd).")
            .Must(d => DateOnly.TryParseExact(d, "yyyy-MM-dd", out _)).WithMessage((_, d) => $"'{d}' is not a date in the form yyyy-MM-dd.");
        RuleFor(r => r.By).OptionalIdentifier();
    }
}

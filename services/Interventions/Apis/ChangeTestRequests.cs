using Beacon.Interventions.Domain;
using FluentValidation;

namespace Beacon.Interventions.Apis;

/// <summary>An arm: an intervention type or an outreach message wording (one of the two).</summary>
public sealed record ChangeTestArmRequest(string? InterventionType, string? Message);

/// <summary>Who may be assigned: the active cases of the named schools, or the named cases.</summary>
public sealed record ChangeTestEligibleRequest(List<string?>? SchoolIds, List<string?>? CaseIds);

/// <summary>POST /api/interventions/v1/tests-of-change. Seed and startDate may be left out (a random seed, recorded; today).</summary>
public sealed record ChangeTestRequest(string? Name, List<ChangeTestArmRequest?>? Arms, ChangeTestEligibleRequest? Eligible, string? Outcome, string? SkillId,
    int? WindowDays, string? StartDate, int? Seed, string? CreatedBy);

/// <summary>
/// Every field of a test of change, each problem named by its JSON path (<c>arms[1].interventionType</c>,
/// <c>eligible.caseIds[3]</c>). What needs the database (schools the caller may see, cases that exist and are active, a
/// start not in the past, a skill Mastery knows) is checked by the endpoint.
/// </summary>
public sealed class ChangeTestValidator : AbstractValidator<ChangeTestRequest>
{
    public const int MaxArms = 6;
    public const int MaxWindowDays = 42;
    public const int MaxCases = 5000;

    public ChangeTestValidator()
    {
        RuleFor(r => r.Name).NotEmpty().WithMessage("is required.").MaximumLength(200);
        RuleFor(r => r.Outcome).OneOf(ChangeTestOutcomes.All);
        RuleFor(r => r.WindowDays).NotNull().WithMessage($"is required (days, 1–{MaxWindowDays}).")
            .InclusiveBetween(1, MaxWindowDays).WithMessage($"must be between 1 and {MaxWindowDays} days.");
        RuleFor(r => r.StartDate).Must(d => d is null || DateOnly.TryParseExact(d, "yyyy-MM-dd", out _))
            .WithMessage((_, d) => $"'{d}' is not a date in the form yyyy-MM-dd.");
        RuleFor(r => r.Seed).GreaterThanOrEqualTo(0).WithMessage("must be 0 or more (leave it out for a random one, which is recorded).");
        RuleFor(r => r.CreatedBy).OptionalIdentifier();
        RuleFor(r => r.SkillId).Custom((skill, context) =>
        {
            var mastery = context.InstanceToValidate.Outcome == ChangeTestOutcomes.Mastery;
            if (mastery && string.IsNullOrWhiteSpace(skill))
            {
                context.AddFailure("skillId", "is required when the outcome is mastery (the skill whose mastery is compared).");
            }
            else if (!mastery && skill is not null)
            {
                context.AddFailure("skillId", "applies only to the outcome mastery; leave it out.");
            }
            else if (skill is { Length: > Rules.MaxIdLength })
            {
                context.AddFailure("skillId", $"must be at most {Rules.MaxIdLength} characters.");
            }
        });
        RuleFor(r => r.Arms).Custom((arms, context) => CheckArms(arms, context.InstanceToValidate.Outcome, context));
        RuleFor(r => r.Eligible).Custom((eligible, context) => CheckEligible(eligible, context));
    }

    private static void CheckArms(List<ChangeTestArmRequest?>? arms, string? outcome, ValidationContext<ChangeTestRequest> context)
    {
        if (arms is null || arms.Count < 2)
        {
            context.AddFailure("arms", "name at least two arms: a test compares two or more intervention types or message wordings.");
            return;
        }
        if (arms.Count > MaxArms)
        {
            context.AddFailure("arms", $"at most {MaxArms} arms (each arm needs enough students to tell anything).");
            return;
        }
        // Group intervention types for mastery (what a group does for a skill), case plan types for attendance.
        var types = outcome == ChangeTestOutcomes.Mastery ? GroupInterventionTypes.All : InterventionTypes.All;
        var seen = new Dictionary<(string, string), int>();
        for (var i = 0; i < arms.Count; i++)
        {
            var arm = arms[i];
            if (arm is null || (arm.InterventionType is null) == (arm.Message is null))
            {
                context.AddFailure($"arms[{i}]", "give either interventionType or message (one of the two).");
                continue;
            }
            if (arm.InterventionType is { } type && !types.Contains(type))
            {
                context.AddFailure($"arms[{i}].interventionType", $"'{type}' is not an intervention type for the outcome {outcome ?? "given"}; use {string.Join(", ", types)}.");
                continue;
            }
            if (arm.Message is { } message)
            {
                if (outcome == ChangeTestOutcomes.Mastery)
                {
                    context.AddFailure($"arms[{i}].message", "message wordings are outreach, measured on attendance; a mastery test compares group intervention types.");
                    continue;
                }
                if (string.IsNullOrWhiteSpace(message) || message.Length > 1000)
                {
                    context.AddFailure($"arms[{i}].message", "must be a wording of 1 to 1000 characters.");
                    continue;
                }
            }
            var key = arm.InterventionType is not null ? (ChangeTestArmKinds.InterventionType, arm.InterventionType) : (ChangeTestArmKinds.Message, arm.Message!.Trim());
            if (seen.TryGetValue(key, out var first))
            {
                context.AddFailure($"arms[{i}]", $"is the same as arms[{first}]; each arm must differ.");
            }
            else
            {
                seen[key] = i;
            }
        }
    }

    private static void CheckEligible(ChangeTestEligibleRequest? eligible, ValidationContext<ChangeTestRequest> context)
    {
        var (schools, cases) = (eligible?.SchoolIds ?? [], eligible?.CaseIds ?? []);
        if (schools.Count == 0 == (cases.Count == 0))
        {
            context.AddFailure("eligible", "give schoolIds (their active cases take part) or caseIds (those cases), one of the two.");
            return;
        }
        if (schools.Count > 50 || cases.Count > MaxCases)
        {
            context.AddFailure("eligible", $"at most 50 schools or {MaxCases} cases.");
            return;
        }
        for (var i = 0; i < schools.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(schools[i]) || schools[i]!.Length > Rules.MaxIdLength)
            {
                context.AddFailure($"eligible.schoolIds[{i}]", "must be a school id.");
            }
        }
        for (var i = 0; i < cases.Count; i++)
        {
            if (!Guid.TryParse(cases[i], out _))
            {
                context.AddFailure($"eligible.caseIds[{i}]", $"'{cases[i]}' is not a case id.");
            }
            else if (cases.IndexOf(cases[i]) < i)
            {
                context.AddFailure($"eligible.caseIds[{i}]", $"'{cases[i]}' is named more than once.");
            }
        }
    }
}

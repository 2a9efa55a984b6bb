"""Word lists the repairs use: US states, car makes and their aliases, title noise."""

from __future__ import annotations

US_STATES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA",
    "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
    "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV", "new hampshire": "NH",
    "new jersey": "NJ", "new mexico": "NM", "new york": "NY", "north carolina": "NC",
    "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "district of columbia": "DC",
    "washington dc": "DC", "washington d c": "DC", "puerto rico": "PR",
}  # fmt: skip

_MAKES = (
    "AC", "Acura", "Alfa Romeo", "AMC", "Aston Martin", "Audi", "Austin-Healey", "Bentley",
    "BMW", "Bugatti", "Buick", "Cadillac", "Chevrolet", "Chrysler", "Citroen", "Datsun",
    "De Tomaso", "DeLorean", "Dodge", "Ferrari", "Fiat", "Ford", "GMC", "Honda", "Hudson",
    "International", "Jaguar", "Jeep", "Jensen", "Lamborghini", "Lancia", "Land Rover", "Lexus",
    "Lincoln", "Lotus", "Maserati", "Mazda", "McLaren", "Mercedes-Benz", "Mercury", "MG",
    "Mini", "Nash", "Nissan", "Oldsmobile", "Packard", "Plymouth", "Pontiac", "Porsche",
    "Rolls-Royce", "Saab", "Shelby", "Studebaker", "Subaru", "Sunbeam", "Toyota", "Triumph",
    "Volkswagen", "Volvo", "Willys",
)  # fmt: skip
MAKE_SPELLING: dict[str, str] = {make.lower(): make for make in _MAKES}
MAKE_ALIASES: dict[str, str] = {
    "chevy": "Chevrolet", "chev": "Chevrolet", "chevrolet motor": "Chevrolet",
    "mercedes": "Mercedes-Benz", "benz": "Mercedes-Benz", "mercedes benz": "Mercedes-Benz",
    "mb": "Mercedes-Benz", "vw": "Volkswagen", "volkswagon": "Volkswagen", "alfa": "Alfa Romeo",
    "alfa-romeo": "Alfa Romeo", "caddy": "Cadillac", "olds": "Oldsmobile", "jag": "Jaguar",
    "lambo": "Lamborghini", "aston": "Aston Martin", "rolls royce": "Rolls-Royce",
    "rolls": "Rolls-Royce", "austin healey": "Austin-Healey", "detomaso": "De Tomaso",
    "landrover": "Land Rover", "range rover": "Land Rover", "delorean": "DeLorean",
    "international harvester": "International", "ih": "International", "pontiac motor": "Pontiac",
}  # fmt: skip
# Every spelling a title may use for a make, longest first (multi-word makes before one word).
MAKE_WORDS: tuple[tuple[str, str], ...] = tuple(
    sorted(
        {**MAKE_SPELLING, **MAKE_ALIASES}.items(),
        key=lambda item: (-len(item[0].split()), -len(item[0])),
    )
)
TITLE_NOISE = (
    r"\bfor sale\b",
    r"\bno reserve\b:?",
    r"\b\d[\d,]*k?[- ]mile(?:s)?\b",
    r"\bwith \d[\d,]*k? miles\b",
    r"\breserve\b",
)

# What listings and event pages commonly write for a category, condition, region or event type
# that the records' enums name otherwise. Only unambiguous synonyms: "Vintage", "Mint", "Restored"
# or "Driver" could be more than one value, so they stay as they are and fail validation with the
# enum's list of values. Keys are compared as ``choice_key`` writes them; a value of ``None``
# means "no such choice" (the optional field is left out). The enums' own values and member names
# in any case or spacing ("muscle cars", "MUSCLE", "hot_rod") need no entry here.
CATEGORY_ALIASES: dict[str, str | None] = {
    "classic": "Classic Cars", "classic car": "Classic Cars", "classics": "Classic Cars",
    "antique": "Classic Cars", "antique car": "Classic Cars", "pre war": "Classic Cars",
    "prewar": "Classic Cars", "brass era": "Classic Cars",
    "muscle car": "Muscle Cars", "pony car": "Muscle Cars", "pony cars": "Muscle Cars",
    "sports car": "Sports Cars", "sport": "Sports Cars", "sportscar": "Sports Cars",
    "sportscars": "Sports Cars", "exotic": "Sports Cars", "exotic car": "Sports Cars",
    "exotics": "Sports Cars", "supercar": "Sports Cars", "supercars": "Sports Cars",
    "luxury car": "Luxury Cars", "luxury": "Luxury Cars",
    "hot rod": "Hot Rods", "hotrod": "Hot Rods", "hotrods": "Hot Rods", "street rod": "Hot Rods",
    "street rods": "Hot Rods", "rat rod": "Hot Rods",
    "restomod": "Restomods", "resto mod": "Restomods", "resto mods": "Restomods",
    "pro touring": "Restomods",
    "truck": "Trucks", "pickup": "Trucks", "pickup truck": "Trucks", "pick up": "Trucks",
    "pickups": "Trucks",
    "other": None, "misc": None, "miscellaneous": None, "uncategorized": None, "none": None,
}  # fmt: skip
CONDITION_ALIASES: dict[str, str | None] = {
    "concours": "Excellent", "concours condition": "Excellent", "concours quality": "Excellent",
    "excellent condition": "Excellent", "very good condition": "Very Good",
    "good condition": "Good", "fair condition": "Fair", "project car": "Project",
    "restoration project": "Project", "needs restoration": "Project",
}  # fmt: skip
REGION_ALIASES: dict[str, str | None] = {
    "west coast": "West", "pacific northwest": "West", "mountain west": "West",
    "pacific": "West", "new england": "Northeast", "mid atlantic": "Northeast",
    "southeast": "South", "deep south": "South", "midwestern": "Midwest", "mid west": "Midwest",
    "great lakes": "Midwest", "eu": "Europe", "uk": "Europe",
    "united kingdom": "Europe", "great britain": "Europe", "england": "Europe",
    "germany": "Europe", "france": "Europe", "italy": "Europe", "japan": "Asia",
    "australia": "Oceania", "new zealand": "Oceania", "australasia": "Oceania",
}  # fmt: skip
EVENT_TYPE_ALIASES: dict[str, str] = {
    "car show": "show", "auto show": "show", "motor show": "show", "classic car show": "show",
    "expo": "show", "exhibition": "show", "car auction": "auction",
    "auto auction": "auction", "collector car auction": "auction",
    "concours d elegance": "concours", "concours delegance": "concours", "concorso": "concours",
    "rallye": "rally", "road rally": "rally", "tour": "rally", "road tour": "rally",
    "racing": "race", "vintage racing": "race", "hill climb": "race", "track day": "race",
    "drag race": "race", "cars and coffee": "meet", "meetup": "meet", "club meet": "meet",
    "swap": "swap_meet", "swapmeet": "swap_meet", "cruise in": "cruise", "cruise night": "cruise",
}  # fmt: skip
ARTICLE_CATEGORY_ALIASES: dict[str, str] = {
    "buyer s guide": "buyers_guide", "buyers guides": "buyers_guide",
    "buying guide": "buyers_guide",
    "auction report": "auction_results", "auction recap": "auction_results",
    "auction result": "auction_results", "market report": "market_analysis",
    "market trends": "market_analysis", "event report": "event_coverage",
    "reviews": "review", "road test": "review", "restorations": "restoration",
}  # fmt: skip
COUNTRY_ALIASES: dict[str, str] = {
    "usa": "US", "u s": "US", "u s a": "US", "united states": "US",
    "united states of america": "US",
}  # fmt: skip
"""An event's country as the records write the United States (geocoded offline as such)."""
NO_PRICE_TEXTS: frozenset[str] = frozenset({
    "call", "call for price", "call for pricing", "contact", "contact seller", "contact dealer",
    "contact us", "contact for price", "poa", "p o a", "price on application",
    "price on request", "por", "inquire", "enquire", "ask", "tbd", "tba", "n a", "n/a", "na",
    "none",
    "auction", "no reserve auction", "make offer", "make an offer", "best offer", "offers",
    "see description", "unknown",
})  # fmt: skip
"""Price texts that say there is no asking price (compared as ``choice_key`` writes them)."""
